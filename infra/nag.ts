/**
 * cdk-nag acknowledgements. cdk-nag 3 runs as a CDK validation plugin (`Validations.of(app).addPlugins(...)`), and
 * a finding is silenced with `Validations.of(construct).acknowledge({ id, reason })` on the resource or an ancestor.
 * Every acknowledgement here names one finding and says why it is acceptable; anything else fails synth.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * The id cdk-nag gives an IAM5 wildcard finding on `resource`, e.g.
 * `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:flyte/*]`.
 * References are flattened the way cdk-nag does it (Ref → `<Name>`, GetAtt → `<Name.Attr>`, Fn::Join joined).
 */
export function wildcardResourceFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(resource))}]`;
}

function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const obj = node as Record<string, unknown>;
    const join = obj['Fn::Join'];
    if (Array.isArray(join)) {
      const [delimiter, items] = join as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if ('Fn::Sub' in obj) return flatten(obj['Fn::Sub']);
    const getAtt = obj['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${flatten(getAtt[0])}.${flatten(getAtt[1])}>`;
    if ('Fn::ImportValue' in obj) return flatten(obj['Fn::ImportValue']);
    if ('Ref' in obj) return `<${flatten(obj.Ref)}>`;
  }
  return JSON.stringify(node);
}
