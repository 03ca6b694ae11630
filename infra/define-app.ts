/**
 * What the CDK app holds, given an App: the one stack, configured from the App's context (infra/stack-config.ts),
 * and cdk-nag's AwsSolutions pack as a validation plugin. `infra/app.ts` (what `cdk synth`/`cdk deploy` run) and the
 * local stack's synth (infra/local/template/synth-local-template.ts) both build the app with it, so the local stack
 * runs the template `cdk deploy` would deploy for the same context.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FlyteDatabricksStack } from './stack.js';
import { parseStackConfig, parseStackName } from './stack-config.js';

/** Adds the stack to `app`; throws StackConfigError on a bad or unsafe context. Returns the stack's name. */
export function defineApp(app: App): string {
  const context = (key: string): unknown => app.node.tryGetContext(key);
  const stackName = parseStackName(context);
  new FlyteDatabricksStack(app, stackName, {
    config: parseStackConfig(context),
    description: 'flyte-databricks-lambda: run Databricks jobs from Flyte on AWS Lambda',
    // Environment-agnostic: account and region come from the deploying credentials; nothing is looked up at synth.
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stackName;
}
