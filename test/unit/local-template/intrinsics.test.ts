// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Fn::Sub templates are CloudFormation strings, not JS templates.
import { describe, expect, it } from 'vitest';
import {
  IntrinsicError,
  type IntrinsicScope,
  type PhysicalResource,
  resolveIntrinsics,
  resolveString,
} from '../../../infra/local/template/intrinsics.js';

const scope: IntrinsicScope = {
  resources: new Map<string, PhysicalResource>([
    ['Table', { ref: 'stack-Table', attributes: { Arn: 'arn:aws:dynamodb:us-east-1:123456789012:table/stack-Table' } }],
    [
      'Queue',
      {
        ref: 'http://127.0.0.1:9324/123456789012/stack-Queue',
        attributes: { Arn: 'arn:aws:sqs:us-east-1:123456789012:stack-Queue', QueueName: 'stack-Queue' },
      },
    ],
    ['Role', { ref: 'stack-Role', attributes: { Arn: 'arn:aws:iam::123456789012:role/stack-Role', 'A.B': 'dotted' } }],
  ]),
  pseudo: {
    'AWS::Region': 'us-east-1',
    'AWS::AccountId': '123456789012',
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'stack',
  },
};

function errorOf(run: () => unknown): IntrinsicError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(IntrinsicError);
    return error as IntrinsicError;
  }
  throw new Error('expected an IntrinsicError, nothing was thrown');
}

describe('resolveIntrinsics', () => {
  it('leaves plain values as they are, and resolves inside objects and arrays', () => {
    expect(resolveIntrinsics('text', scope)).toBe('text');
    expect(resolveIntrinsics(5, scope)).toBe(5);
    expect(resolveIntrinsics(null, scope)).toBeNull();
    expect(resolveIntrinsics({ a: [{ Ref: 'Table' }, 1], b: { c: { Ref: 'AWS::Region' } } }, scope)).toEqual({
      a: ['stack-Table', 1],
      b: { c: 'us-east-1' },
    });
  });

  it('Ref returns the physical id', () => {
    expect(resolveIntrinsics({ Ref: 'Table' }, scope)).toBe('stack-Table');
    expect(resolveIntrinsics({ Ref: 'Queue' }, scope)).toBe('http://127.0.0.1:9324/123456789012/stack-Queue');
  });

  it('Ref resolves the pseudo parameters', () => {
    expect(
      resolveIntrinsics(
        ['AWS::Region', 'AWS::AccountId', 'AWS::Partition', 'AWS::URLSuffix', 'AWS::StackName'].map((Ref) => ({ Ref })),
        scope,
      ),
    ).toEqual(['us-east-1', '123456789012', 'aws', 'amazonaws.com', 'stack']);
  });

  it('Fn::GetAtt reads an attribute, in list and dotted-string form', () => {
    expect(resolveIntrinsics({ 'Fn::GetAtt': ['Queue', 'Arn'] }, scope)).toBe(
      'arn:aws:sqs:us-east-1:123456789012:stack-Queue',
    );
    expect(resolveIntrinsics({ 'Fn::GetAtt': 'Queue.QueueName' }, scope)).toBe('stack-Queue');
    // The dotted form splits at the first dot only: the rest is the attribute's name.
    expect(resolveIntrinsics({ 'Fn::GetAtt': 'Role.A.B' }, scope)).toBe('dotted');
  });

  it('Fn::Join joins resolved parts', () => {
    expect(
      resolveIntrinsics(
        {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', 7, ':secret:x'],
          ],
        },
        scope,
      ),
    ).toBe('arn:aws:secretsmanager:us-east-1:7:secret:x');
    expect(resolveIntrinsics({ 'Fn::Join': [',', [{ Ref: 'Table' }, { 'Fn::GetAtt': ['Role', 'Arn'] }]] }, scope)).toBe(
      'stack-Table,arn:aws:iam::123456789012:role/stack-Role',
    );
  });

  it('Fn::Select picks an item, also from a list another intrinsic makes', () => {
    expect(resolveIntrinsics({ 'Fn::Select': [1, ['a', { Ref: 'Table' }, 'c']] }, scope)).toBe('stack-Table');
    expect(resolveIntrinsics({ 'Fn::Select': ['0', ['a', 'b']] }, scope)).toBe('a');
    expect(
      resolveIntrinsics({ 'Fn::Select': [5, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Queue', 'Arn'] }] }] }, scope),
    ).toBe('stack-Queue');
  });

  it('Fn::Select outside the list is an error naming the path', () => {
    const error = errorOf(() => resolveIntrinsics({ x: { 'Fn::Select': [3, ['a', 'b']] } }, scope));
    expect(error.message).toContain('$.x.Fn::Select');
    expect(error.message).toContain('index 3');
  });

  it('Fn::Split splits a resolved string', () => {
    expect(resolveIntrinsics({ 'Fn::Split': ['/', { Ref: 'Queue' }] }, scope)).toEqual([
      'http:',
      '',
      '127.0.0.1:9324',
      '123456789012',
      'stack-Queue',
    ]);
    expect(resolveIntrinsics({ 'Fn::Split': [',', 'a,b'] }, scope)).toEqual(['a', 'b']);
  });

  describe('Fn::Sub', () => {
    it('${X} is a Ref, of a resource or a pseudo parameter', () => {
      expect(resolveIntrinsics({ 'Fn::Sub': 'table ${Table} in ${AWS::Region}/${AWS::AccountId}' }, scope)).toBe(
        'table stack-Table in us-east-1/123456789012',
      );
    });

    it('${X.Attr} is a GetAtt', () => {
      expect(resolveIntrinsics({ 'Fn::Sub': 'queue=${Queue.Arn};name=${Queue.QueueName}' }, scope)).toBe(
        'queue=arn:aws:sqs:us-east-1:123456789012:stack-Queue;name=stack-Queue',
      );
    });

    it('${!Literal} is written as ${Literal}', () => {
      expect(resolveIntrinsics({ 'Fn::Sub': '${!Literal} and ${!Table} and ${Table}' }, scope)).toBe(
        '${Literal} and ${Table} and stack-Table',
      );
    });

    it('takes a variable map, whose values are resolved and win over resources', () => {
      expect(
        resolveIntrinsics(
          {
            'Fn::Sub': [
              '${Greeting}, ${Table} in ${Region} (${Queue.Arn})',
              { Greeting: 'hello', Table: 'overridden', Region: { Ref: 'AWS::Region' } },
            ],
          },
          scope,
        ),
      ).toBe('hello, overridden in us-east-1 (arn:aws:sqs:us-east-1:123456789012:stack-Queue)');
    });

    it('a name neither in the map nor the template is an error naming the path', () => {
      const error = errorOf(() => resolveIntrinsics({ Env: { 'Fn::Sub': ['${Missing}', { Other: 'x' }] } }, scope));
      expect(error.message).toContain('$.Env.Fn::Sub');
      expect(error.message).toContain('Missing');
    });
  });

  describe('errors name where they sit', () => {
    it('an unknown logical id in Ref', () => {
      const error = errorOf(() =>
        resolveIntrinsics({ Properties: { Environment: [{ Ref: 'Table' }, { Ref: 'Nope' }] } }, scope),
      );
      expect(error.message).toContain('$.Properties.Environment[1].Ref');
      expect(error.message).toContain('Nope');
    });

    it('an unknown logical id in Fn::GetAtt', () => {
      const error = errorOf(() => resolveIntrinsics({ a: { 'Fn::GetAtt': ['Nope', 'Arn'] } }, scope, 'Fn'));
      expect(error.message).toContain('Fn.a.Fn::GetAtt');
      expect(error.message).toContain('Nope');
    });

    it('an unknown attribute', () => {
      const error = errorOf(() => resolveIntrinsics({ a: { 'Fn::GetAtt': ['Table', 'StreamArn'] } }, scope));
      expect(error.message).toContain('$.a.Fn::GetAtt');
      expect(error.message).toContain('Table has no attribute StreamArn');
    });

    it('an unknown attribute in Fn::Sub', () => {
      const error = errorOf(() => resolveIntrinsics({ a: { 'Fn::Sub': '${Table.StreamArn}' } }, scope));
      expect(error.message).toContain('$.a.Fn::Sub');
      expect(error.message).toContain('StreamArn');
    });

    it('an intrinsic it does not resolve (Fn::ImportValue)', () => {
      const error = errorOf(() => resolveIntrinsics({ list: ['x', { 'Fn::ImportValue': 'Shared-Arn' }] }, scope));
      expect(error.message).toContain('$.list[1].Fn::ImportValue');
      expect(error.message).toContain('does not resolve Fn::ImportValue');
    });

    it('an intrinsic nested inside another', () => {
      const error = errorOf(() =>
        resolveIntrinsics({ 'Fn::Join': ['', ['a', { 'Fn::GetAZs': '' }]] }, scope, 'Resources.F.Uri'),
      );
      expect(error.message).toContain('Resources.F.Uri.Fn::Join[1].Fn::GetAZs');
    });
  });
});

describe('resolveString', () => {
  it('returns strings, and numbers and booleans as strings', () => {
    expect(resolveString({ Ref: 'Table' }, scope, 'x')).toBe('stack-Table');
    expect(resolveString(90, scope, 'x')).toBe('90');
    expect(resolveString(true, scope, 'x')).toBe('true');
  });

  it('refuses a value that does not resolve to a string, naming the place', () => {
    const error = errorOf(() => resolveString({ 'Fn::Split': [',', 'a,b'] }, scope, 'Env.LIST'));
    expect(error.message).toContain('Env.LIST');
    expect(error.message).toContain('expected a string');
  });
});
