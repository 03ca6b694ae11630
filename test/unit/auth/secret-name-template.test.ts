import { describe, expect, it } from 'vitest';
import { secretNameTemplateProblem } from '../../../shared/auth/secret-name-template.js';

describe('Function: secretNameTemplateProblem()', () => {
  it.each([
    'flyte/{namespace}/{name}',
    'flyte/{name}/{namespace}',
    'prod/flyte-{namespace}/{name}',
    'flyte/{namespace}_{name}',
    'flyte/{namespace}/databricks/{name}-secret',
  ])('accepts %s: a character no namespace or secret name holds separates them', (template) => {
    // Assess
    expect(secretNameTemplateProblem(template)).toBeUndefined();
  });

  it('refuses flyte-{namespace}-{name}, showing two pairs that collide', () => {
    // Act
    const problem = secretNameTemplateProblem('flyte-{namespace}-{name}');

    // Assess
    expect(problem).toContain("could give two namespaces' secrets the same name");
    expect(problem).toContain(
      'namespace "a" with secret "b-c" and namespace "a-b" with secret "c" both give "flyte-a-b-c"',
    );
    expect(problem).toContain('such as "/"');
  });

  it('refuses {namespace}{name}: nothing separates them', () => {
    // Act
    const problem = secretNameTemplateProblem('{namespace}{name}');

    // Assess
    expect(problem).toMatch(/nothing separates \{namespace\} from \{name\}/);
    expect(problem).toContain('namespace "a" with secret "bc" and namespace "ab" with secret "c" both give "abc"');
  });

  it('refuses the name-first order with a separator a namespace may hold', () => {
    // Assess
    expect(secretNameTemplateProblem('flyte/{name}-{namespace}')).toContain(
      'namespace "b-c" with secret "a" and namespace "c" with secret "a-b" both give "flyte/a-b-c"',
    );
  });

  it('refuses a separator of characters secret names may hold, such as "."', () => {
    // Assess
    expect(secretNameTemplateProblem('flyte.{namespace}.{name}')).toMatch(/\("\."\) holds only characters/);
  });

  it.each([
    'flyte/{namespace}',
    'flyte/{name}',
    'flyte/{namespace}/{name}/{name}',
    'flyte/{namespace}/{namespace}/{name}',
  ])('refuses %s: {namespace} and {name} exactly once each', (template) => {
    // Assess
    expect(secretNameTemplateProblem(template)).toMatch(/\{namespace\} and \{name\} exactly once each/);
  });
});
