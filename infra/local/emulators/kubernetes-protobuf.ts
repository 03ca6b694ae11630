/**
 * Decodes the Kubernetes protobuf request bodies kubectl sends: its typed clients (`create serviceaccount`, `create
 * secret`, `create token`) POST `Content-Type: application/vnd.kubernetes.protobuf` (accepting JSON back), so the
 * emulator turns those bodies into the JSON objects its handlers take. Only what those kinds carry is read; other
 * fields are skipped.
 *
 * Verified (apimachinery runtime/serializer/protobuf; k8s.io/api core/v1 and authentication/v1 generated.proto;
 * kubectl 1.32's bytes read at -v=9): the body is the magic `k8s\0` then a runtime.Unknown {typeMeta=1 {apiVersion=1,
 * kind=2}, raw=2, contentEncoding=3, contentType=4}; raw is the object's message. ObjectMeta {name=1,
 * generateName=2, namespace=3, uid=5, resourceVersion=6, labels=11, annotations=12} (maps as entries {key=1,
 * value=2}); ServiceAccount {metadata=1, secrets=2 (ObjectReference {kind=1, namespace=2, name=3, uid=4,
 * apiVersion=5}), imagePullSecrets=3 ({name=1}), automountServiceAccountToken=4}; Secret {metadata=1, data=2
 * (bytes values), type=3, stringData=4, immutable=5}; TokenRequest {metadata=1, spec=2 {audiences=1,
 * boundObjectRef=3, expirationSeconds=4}}.
 */

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Value = bigint | Buffer;

/** Field number -> values in order (varints as bigint, length-delimited as bytes; fixed-width skipped). */
function fields(bytes: Buffer): Map<number, Value[]> {
  const out = new Map<number, Value[]>();
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= bytes.length) throw new Error('truncated varint');
      const byte = bytes[at++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  while (at < bytes.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    let value: Value | undefined;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const length = Number(varint());
      if (at + length > bytes.length) throw new Error('truncated field');
      value = bytes.subarray(at, at + length);
      at += length;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`unsupported wire type ${wire}`);
    if (value !== undefined) out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

const bytesOf = (f: Map<number, Value[]>, n: number): Buffer | undefined => {
  const v = f.get(n)?.at(-1);
  return Buffer.isBuffer(v) ? v : undefined;
};
const str = (f: Map<number, Value[]>, n: number): string | undefined => bytesOf(f, n)?.toString('utf8');
const strs = (f: Map<number, Value[]>, n: number): string[] =>
  (f.get(n) ?? []).flatMap((v) => (Buffer.isBuffer(v) ? [v.toString('utf8')] : []));
const int = (f: Map<number, Value[]>, n: number): number | undefined => {
  const v = f.get(n)?.at(-1);
  return typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : undefined;
};
const messages = (f: Map<number, Value[]>, n: number): Map<number, Value[]>[] =>
  (f.get(n) ?? []).flatMap((v) => (Buffer.isBuffer(v) ? [fields(v)] : []));

function map(f: Map<number, Value[]>, n: number, decode: (b: Buffer) => string): Record<string, string> | undefined {
  const entries = messages(f, n).map((e) => [str(e, 1) ?? '', decode(bytesOf(e, 2) ?? Buffer.alloc(0))]);
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** Drops unset ('' / undefined) fields, as the JSON form omits them. */
const compact = (object: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined && v !== ''));

function objectMeta(f: Map<number, Value[]> | undefined): Record<string, unknown> {
  if (!f) return {};
  return compact({
    name: str(f, 1),
    generateName: str(f, 2),
    namespace: str(f, 3),
    uid: str(f, 5),
    resourceVersion: str(f, 6),
    labels: map(f, 11, (b) => b.toString('utf8')),
    annotations: map(f, 12, (b) => b.toString('utf8')),
  });
}

function serviceAccount(f: Map<number, Value[]>): Record<string, unknown> {
  const secrets = messages(f, 2).map((r) =>
    compact({ kind: str(r, 1), namespace: str(r, 2), name: str(r, 3), uid: str(r, 4), apiVersion: str(r, 5) }),
  );
  const pullSecrets = messages(f, 3).map((r) => compact({ name: str(r, 1) }));
  const automount = int(f, 4);
  return compact({
    secrets: secrets.length > 0 ? secrets : undefined,
    imagePullSecrets: pullSecrets.length > 0 ? pullSecrets : undefined,
    automountServiceAccountToken: automount === undefined ? undefined : automount !== 0,
  });
}

function secret(f: Map<number, Value[]>): Record<string, unknown> {
  const immutable = int(f, 5);
  return compact({
    data: map(f, 2, (b) => b.toString('base64')),
    type: str(f, 3),
    stringData: map(f, 4, (b) => b.toString('utf8')),
    immutable: immutable === undefined ? undefined : immutable !== 0,
  });
}

function tokenRequest(f: Map<number, Value[]>): Record<string, unknown> {
  const spec = messages(f, 2)[0];
  if (!spec) return {};
  const audiences = strs(spec, 1);
  return {
    spec: compact({ audiences: audiences.length > 0 ? audiences : undefined, expirationSeconds: int(spec, 4) }),
  };
}

const DECODERS: Record<string, (f: Map<number, Value[]>) => Record<string, unknown>> = {
  ServiceAccount: serviceAccount,
  Secret: secret,
  TokenRequest: tokenRequest,
};

/** The JSON form of a protobuf body; throws on a body that is not one of the kinds above. */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC)) throw new Error('missing the k8s protobuf prefix');
  const unknown = fields(body.subarray(4));
  const typeMeta = messages(unknown, 1)[0];
  const apiVersion = typeMeta ? str(typeMeta, 1) : undefined;
  const kind = typeMeta ? str(typeMeta, 2) : undefined;
  const decode = kind ? DECODERS[kind] : undefined;
  if (!decode) throw new Error(`cannot decode kind ${kind ?? '(none)'} from protobuf`);
  const object = fields(bytesOf(unknown, 2) ?? Buffer.alloc(0));
  return { apiVersion, kind, metadata: objectMeta(messages(object, 1)[0]), ...decode(object) };
}
