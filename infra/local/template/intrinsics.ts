/**
 * Resolves the CloudFormation intrinsic functions the synthesized template uses (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * Fn::Select, Fn::Split) against the local stack's physical values, as CloudFormation would at deploy time. An
 * intrinsic or attribute it does not know is an error naming where it sits, never a silently wrong value.
 */

/** A resource's physical id (what Ref returns) and the attributes Fn::GetAtt may read. */
export interface PhysicalResource {
  ref: string;
  attributes: Record<string, string>;
}

export interface IntrinsicScope {
  /** Physical values by logical id. */
  resources: ReadonlyMap<string, PhysicalResource>;
  /** Pseudo parameters: AWS::Region, AWS::AccountId, AWS::Partition, AWS::URLSuffix, AWS::StackName. */
  pseudo: Readonly<Record<string, string>>;
}

export class IntrinsicError extends Error {}

/** Template JSON is untyped: values are read structurally. */
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped.
export type Json = any;

/** Returns `value` with every intrinsic replaced by what it resolves to; `at` names the place for errors. */
export function resolveIntrinsics(value: Json, scope: IntrinsicScope, at = '$'): Json {
  if (Array.isArray(value)) return value.map((item, index) => resolveIntrinsics(item, scope, `${at}[${index}]`));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]?.startsWith('Fn::'))) {
    return resolveFunction(keys[0] as string, value[keys[0] as string], scope, at);
  }
  return Object.fromEntries(keys.map((key) => [key, resolveIntrinsics(value[key], scope, `${at}.${key}`)]));
}

/** Like resolveIntrinsics, for a value that must come out a string. */
export function resolveString(value: Json, scope: IntrinsicScope, at: string): string {
  const resolved = resolveIntrinsics(value, scope, at);
  if (typeof resolved === 'string') return resolved;
  if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
  throw new IntrinsicError(`${at}: expected a string, got ${JSON.stringify(resolved)}`);
}

function resolveFunction(name: string, args: Json, scope: IntrinsicScope, at: string): Json {
  const here = `${at}.${name}`;
  switch (name) {
    case 'Ref':
      return ref(String(args), scope, here);
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = Array.isArray(args) ? args : String(args).split(/\.(.*)/s);
      return getAtt(String(logicalId), String(attribute), scope, here);
    }
    case 'Fn::Join': {
      const [separator, parts] = args as [string, Json[]];
      return resolveList(parts, scope, here)
        .map((part, index) => stringOf(part, `${here}[${index}]`))
        .join(separator);
    }
    case 'Fn::Select': {
      const [index, list] = args as [Json, Json];
      const items = resolveList(list, scope, here);
      const position = Number(resolveIntrinsics(index, scope, here));
      if (!Number.isInteger(position) || position < 0 || position >= items.length) {
        throw new IntrinsicError(`${here}: index ${position} outside a list of ${items.length}`);
      }
      return items[position];
    }
    case 'Fn::Split': {
      const [separator, source] = args as [string, Json];
      return resolveString(source, scope, here).split(separator);
    }
    case 'Fn::Sub':
      return sub(args, scope, here);
    default:
      throw new IntrinsicError(`${here}: the local stack does not resolve ${name}`);
  }
}

function resolveList(list: Json, scope: IntrinsicScope, at: string): Json[] {
  const resolved = resolveIntrinsics(list, scope, at);
  if (!Array.isArray(resolved)) throw new IntrinsicError(`${at}: expected a list`);
  return resolved;
}

function stringOf(value: Json, at: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new IntrinsicError(`${at}: expected a string, got ${JSON.stringify(value)}`);
}

function ref(name: string, scope: IntrinsicScope, at: string): string {
  const pseudo = scope.pseudo[name];
  if (pseudo !== undefined) return pseudo;
  const resource = scope.resources.get(name);
  if (!resource) throw new IntrinsicError(`${at}: no resource or pseudo parameter ${name}`);
  return resource.ref;
}

function getAtt(logicalId: string, attribute: string, scope: IntrinsicScope, at: string): string {
  const resource = scope.resources.get(logicalId);
  if (!resource) throw new IntrinsicError(`${at}: no resource ${logicalId}`);
  const value = resource.attributes[attribute];
  if (value === undefined) throw new IntrinsicError(`${at}: ${logicalId} has no attribute ${attribute} locally`);
  return value;
}

/** Fn::Sub: `${Name}` (Ref), `${Name.Attr}` (GetAtt), `${!Literal}`; with a variable map as its second argument. */
function sub(args: Json, scope: IntrinsicScope, at: string): string {
  const [template, variables = {}] = Array.isArray(args) ? args : [args, {}];
  const local = resolveIntrinsics(variables, scope, at) as Record<string, Json>;
  return String(template).replace(/\$\{([^}]+)\}/g, (_match, expression: string) => {
    if (expression.startsWith('!')) return `\${${expression.slice(1)}}`;
    if (expression in local) return stringOf(local[expression], `${at}.${expression}`);
    const [logicalId, attribute] = expression.split(/\.(.*)/s);
    return attribute ? getAtt(logicalId as string, attribute, scope, at) : ref(logicalId as string, scope, at);
  });
}
