/**
 * The CDK app: one stack, configured from CDK context (infra/stack-config.ts), checked by cdk-nag's AwsSolutions
 * pack at synth. cdk-nag 3 is a CDK validation plugin: an unacknowledged error fails `cdk synth` / `cdk deploy`.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FlyteDatabricksStack } from './stack.js';
import { parseStackConfig, parseStackName } from './stack-config.js';

const app = new App();
const context = (key: string): unknown => app.node.tryGetContext(key);

new FlyteDatabricksStack(app, parseStackName(context), {
  config: parseStackConfig(context),
  description: 'flyte-databricks-lambda: run Databricks jobs from Flyte on AWS Lambda',
  // Environment-agnostic: account and region come from the deploying credentials; nothing is looked up at synth.
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

app.synth();
