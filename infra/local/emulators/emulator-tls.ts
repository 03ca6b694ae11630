/**
 * A throwaway certificate authority and a server certificate it signs, for an emulator served over TLS to clients
 * that verify certificates (kubectl, @kubernetes/client-node with KUBERNETES_CA_DATA). Built with node:crypto and a
 * minimal DER writer, so no dependency: X.509 v3, ECDSA P-256 with SHA-256.
 *
 * Verified (RFC 5280; Go crypto/x509, which kubectl uses): Go matches host names against the subjectAltName only (it
 * ignores the CN since Go 1.15), so the server certificate carries DNS `localhost` and IP 127.0.0.1; a CA must have
 * basicConstraints cA=TRUE and, when keyUsage is present, keyCertSign. DER: definite lengths, INTEGERs minimal and
 * positive, BIT STRING keyUsage without trailing zero bits, UTCTime before 2050.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

export interface EmulatorCertificates {
  /** PEM of the CA certificate: what a client trusts. */
  caCert: string;
  /** PEM of the server certificate (issued by the CA) and its private key: what the server presents. */
  cert: string;
  key: string;
}

export interface CertificateOptions {
  /** Default ['localhost']. */
  dnsNames?: string[];
  /** Default ['127.0.0.1']. */
  ipAddresses?: string[];
  /** Default 'local emulator CA'. */
  caName?: string;
  /** Default 1 day; notBefore is an hour ago, to allow for clock skew. */
  validForMs?: number;
  /** Default now. */
  now?: number;
}

const tlv = (tag: number, content: Buffer): Buffer => {
  const n = content.length;
  const length =
    n < 0x80
      ? Buffer.from([n])
      : (() => {
          const bytes: number[] = [];
          for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
          return Buffer.from([0x80 | bytes.length, ...bytes]);
        })();
  return Buffer.concat([Buffer.from([tag]), length, content]);
};
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 + n, inner);
const bool = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0]));
const octets = (content: Buffer): Buffer => tlv(0x04, content);
const bits = (content: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unused]), content]));
const utf8 = (value: string): Buffer => tlv(0x0c, Buffer.from(value, 'utf8'));

function integer(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0 && ((bytes[start + 1] as number) & 0x80) === 0) start++;
  const trimmed = bytes.subarray(start);
  return tlv(0x02, (trimmed[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const base128: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      base128.unshift((v % 128) | (base128.length ? 0x80 : 0));
      if (v < 128) break;
    }
    out.push(...base128);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(ms: number): Buffer {
  const iso = new Date(ms)
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d{3}/, '');
  return new Date(ms).getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

const name = (commonName: string): Buffer => seq(set(seq(oid('2.5.4.3'), utf8(commonName))));
const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

const spki = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });
/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
const keyId = (key: KeyObject): Buffer => createHash('sha1').update(spki(key).subarray(-65)).digest();

function ipBytes(ip: string): Buffer {
  const v4 = ip.split('.');
  if (v4.length === 4) return Buffer.from(v4.map(Number));
  throw new Error(`only IPv4 addresses are supported in certificates: ${ip}`);
}

function certificate(fields: {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signer: KeyObject;
  issuerKey: KeyObject;
  notBefore: number;
  notAfter: number;
  extensions: Buffer[];
}): string {
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ECDSA_SHA256,
    name(fields.issuer),
    seq(time(fields.notBefore), time(fields.notAfter)),
    name(fields.subject),
    spki(fields.publicKey),
    explicit(
      3,
      seq(
        ...fields.extensions,
        extension('2.5.29.14', false, octets(keyId(fields.publicKey))),
        extension('2.5.29.35', false, seq(tlv(0x80, keyId(fields.issuerKey)))),
      ),
    ),
  );
  const signature = sign('sha256', tbs, fields.signer);
  const der = seq(tbs, ECDSA_SHA256, bits(signature));
  const base64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${base64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** A new CA and a server certificate for 127.0.0.1 / localhost signed by it. */
export function createEmulatorCertificates(options: CertificateOptions = {}): EmulatorCertificates {
  const now = options.now ?? Date.now();
  const notBefore = now - 3600_000;
  const notAfter = now + (options.validForMs ?? 86_400_000);
  const caName = options.caName ?? 'local emulator CA';
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const server = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caCert = certificate({
    subject: caName,
    issuer: caName,
    publicKey: ca.publicKey,
    signer: ca.privateKey,
    issuerKey: ca.publicKey,
    notBefore,
    notAfter,
    extensions: [
      extension('2.5.29.19', true, seq(bool(true))),
      // digitalSignature, keyCertSign, cRLSign: bits 0, 5, 6 (one unused trailing bit).
      extension('2.5.29.15', true, bits(Buffer.from([0x86]), 1)),
    ],
  });
  const altNames = [
    ...(options.dnsNames ?? ['localhost']).map((dns) => tlv(0x82, Buffer.from(dns, 'ascii'))),
    ...(options.ipAddresses ?? ['127.0.0.1']).map((ip) => tlv(0x87, ipBytes(ip))),
  ];
  const cert = certificate({
    subject: (options.dnsNames ?? ['localhost'])[0] ?? 'localhost',
    issuer: caName,
    publicKey: server.publicKey,
    signer: ca.privateKey,
    issuerKey: ca.publicKey,
    notBefore,
    notAfter,
    extensions: [
      extension('2.5.29.19', true, seq()),
      // digitalSignature only (bit 0; seven unused bits): ECDHE key exchange needs no keyEncipherment.
      extension('2.5.29.15', true, bits(Buffer.from([0x80]), 7)),
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
      extension('2.5.29.17', false, seq(...altNames)),
    ],
  });
  return { caCert, cert, key: server.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
