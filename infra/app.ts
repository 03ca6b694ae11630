/**
 * The CDK app: one stack, configured from CDK context (infra/stack-config.ts; `-c contextFile=<file>` adds a JSON
 * file of context values, infra/example.context.json being one), checked by cdk-nag's AwsSolutions pack at synth.
 * cdk-nag 3 is a CDK validation plugin: an unacknowledged error fails `cdk synth` / `cdk deploy`. A configuration
 * that is invalid, or not safe to deploy, stops synth with the error's message alone.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FlyteDatabricksStack } from './stack.js';
import { parseStackConfig, parseStackName, StackConfigError } from './stack-config.js';

const app = new App();
const context = (key: string): unknown => app.node.tryGetContext(key);

let config: ReturnType<typeof parseStackConfig>;
let stackName: string;
try {
  stackName = parseStackName(context);
  config = parseStackConfig(context);
} catch (error) {
  if (!(error instanceof StackConfigError)) throw error;
  console.error(`\n${error.message}\n`);
  process.exit(1);
}

new FlyteDatabricksStack(app, stackName, {
  config,
  description: 'flyte-databricks-lambda: run Databricks jobs from Flyte on AWS Lambda',
  // Environment-agnostic: account and region come from the deploying credentials; nothing is looked up at synth.
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

app.synth();
