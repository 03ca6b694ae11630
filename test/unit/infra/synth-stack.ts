/**
 * Builds the stack as infra/app.ts does (cdk.json's context, the cdk-nag plugin) for assertions. Bundling is
 * skipped unless asked for (`aws:cdk:bundling-stacks: []`, as `cdk synth --exclusively` does for other stacks):
 * one test file bundles the real functions, the others only need the template. The stack fails closed, so every
 * build starts from SAFE_CONTEXT unless a test asks for none (`safeContext: false`).
 */
import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FlyteDatabricksStack } from '../../../infra/stack.js';
import { parseStackConfig } from '../../../infra/stack-config.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8')) as {
  context?: Record<string, unknown>;
};

/** The least the stack needs to synthesize: who may use which namespace, and which workspaces jobs may use. */
export const SAFE_CONTEXT: Readonly<Record<string, unknown>> = {
  callerNamespaces: { 'arn:aws:iam::123456789012:role/flyte-task': ['flytesnacks-development'] },
  allowedDatabricksHosts: 'dbc-1.cloud.databricks.com',
};

export interface BuildOptions {
  bundle?: boolean;
  nag?: boolean;
  /** Start from SAFE_CONTEXT (default); false: from cdk.json's context alone. */
  safeContext?: boolean;
}

export interface SynthesizedStack {
  app: App;
  stack: FlyteDatabricksStack;
  template: Template;
}

export function buildStack(
  context: Record<string, unknown> = {},
  options: BuildOptions = {},
): { app: App; stack: FlyteDatabricksStack } {
  const app = new App({
    context: {
      ...cdkJson.context,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...(options.safeContext === false ? {} : SAFE_CONTEXT),
      ...context,
    },
  });
  const stack = new FlyteDatabricksStack(app, 'TestStack', {
    config: parseStackConfig((key) => app.node.tryGetContext(key)),
  });
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}

/** Synthesizes (running cdk-nag, which throws on an unacknowledged error) and returns the template. */
export function synthStack(
  context: Record<string, unknown> = {},
  options: Omit<BuildOptions, 'nag'> = {},
): SynthesizedStack {
  const { app, stack } = buildStack(context, options);
  return { app, stack, template: Template.fromStack(stack) };
}

/** Template JSON has no static shape: tests read it structurally and assert on what they read. */
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped.
export type Json = any;

export interface CfnResource {
  Type: string;
  Properties: Json;
  DeletionPolicy?: string;
}

export const resourcesOf = (template: Template): Record<string, CfnResource> => template.toJSON().Resources;

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown> };

/** Every statement of every AWS::IAM::Policy, with the logical id of its policy. */
export function policyStatements(template: Template): Array<Statement & { policy: string }> {
  const policies = template.findResources('AWS::IAM::Policy') as Record<
    string,
    { Properties: { PolicyDocument: { Statement: Statement[] } } }
  >;
  return Object.entries(policies).flatMap(([policy, resource]) =>
    resource.Properties.PolicyDocument.Statement.map((statement) => ({ ...statement, policy })),
  );
}

export const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
