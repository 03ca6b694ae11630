/**
 * The CDK app: one stack, configured from CDK context (infra/stack-config.ts; `-c contextFile=<file>` adds a JSON
 * file of context values, infra/example.context.json being one), checked by cdk-nag's AwsSolutions pack at synth.
 * cdk-nag 3 is a CDK validation plugin: an unacknowledged error fails `cdk synth` / `cdk deploy`. A configuration
 * that is invalid, or not safe to deploy, stops synth with the error's message alone.
 */
import { App } from 'aws-cdk-lib';
import { defineApp } from './define-app.js';
import { StackConfigError } from './stack-config.js';

const app = new App();
try {
  defineApp(app);
} catch (error) {
  if (!(error instanceof StackConfigError)) throw error;
  console.error(`\n${error.message}\n`);
  process.exit(1);
}
app.synth();
