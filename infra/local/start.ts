/**
 * `npm start`: the whole suite on this machine. Starts the embedded local stack, seeds the demo namespace with a
 * PAT, and prints the front door URL with signed requests to paste (the front door takes SigV4, as the deployed
 * API does) and the dummy local access keys to sign them with, and serves the status page (status-page/: the
 * dashboard's main widgets from the functions' metrics). Runs until Ctrl-C.
 */
import { LOCAL_STACK_URL } from '../../shared/cli/args.js';
import { DEMO_NAMESPACE, seedDemoNamespace } from './demo-namespace.js';
import { startLocalStack } from './local-stack.js';
import { prepareLocalStack } from './prepare-local-stack.js';
import { startStackStatusPage } from './status-page/stack-status-page.js';
import { seedTenants } from './tenants.js';

const port = Number(process.env.PORT ?? 3000);
console.log('Preparing: the app synthesized with the local context, Node 22 and the Lambda runtime client (the first');
console.log('run on a machine compiles the client: a few minutes; later runs reuse both)...');
await prepareLocalStack((line) => console.log(`  ${line}`));
const stack = await startLocalStack({
  port,
  // Slow enough to watch a run move through its states by hand.
  databricks: { timing: { pendingMs: 3000, runningMs: 15_000, terminatingMs: 1000 } },
  pollIntervalSeconds: { min: 2, max: 5 },
  // The status page charts Databricks calls per workspace (WorkspaceCalls): a listed difference from the template.
  metricsWorkspaceDimension: true,
});
// The status page next to the front door; any free port when that one is taken.
const statusPort = Number(process.env.STATUS_PAGE_PORT ?? port + 1);
const statusPage = await startStackStatusPage(stack, { port: statusPort }).catch(() => startStackStatusPage(stack));
seedDemoNamespace(stack);
const tenants = await seedTenants(stack);
const tenantLines = Object.values(tenants)
  .map(
    (t) =>
      `    ${t.mode.padEnd(18)} namespace ${t.namespace}${Object.keys(t.task).length ? `, task ${JSON.stringify(t.task)}` : ''}`,
  )
  .join('\n');

const body = JSON.stringify({
  namespace: DEMO_NAMESPACE,
  executionId: `try-${Date.now()}`,
  task: { databricksConf: { run_name: 'hello', new_cluster: { spark_version: '15.4.x-scala2.12', num_workers: 1 } } },
  container: { image: 'ghcr.io/flyteorg/flytekit:py3.11-latest', args: ['pyflyte-execute'] },
});

// The CLI's default URL is this stack's on the default port.
const cliUrl = stack.frontDoorUrl === LOCAL_STACK_URL ? '' : ` --url ${stack.frontDoorUrl}`;

console.log(`flyte-databricks-lambda local stack is up.

  Front door:            ${stack.frontDoorUrl}   (the template's API, stage prod, AWS_IAM)
  Status page:           ${statusPage.url}   (jobs by phase, Databricks calls/s vs budget, DLQs; live)
  Template:              ${stack.describe.template}   (runtime ${stack.describe.runtime})
  Databricks emulator:   ${stack.databricks.url}
  DynamoDB (dynalite):   ${stack.awsEndpoints.DYNAMODB}   table ${stack.tableName}
  SQS:                   ${stack.awsEndpoints.SQS}
  Secrets Manager:       ${stack.awsEndpoints.SECRETS_MANAGER}
  Kubernetes API (EKS):  ${stack.kubernetes.url}   (cluster local-eks, TLS)
  STS / EKS:             ${stack.awsEndpoints.STS} / ${stack.awsEndpoints.EKS}
  Demo namespace:        ${DEMO_NAMESPACE} (PAT seeded in Secrets Manager as flyte/${DEMO_NAMESPACE}/databricks-token)
  A tenant per auth mode (use the namespace, and add the task fields shown):
${tenantLines}

The front door takes SigV4-signed requests only (service execute-api, region ${stack.region}), as the deployed
API does. Local credentials to sign with (dummy keys, valid for this run of the stack only):

  export AWS_ACCESS_KEY_ID=${stack.callerCredentials.accessKeyId}
  export AWS_SECRET_ACCESS_KEY=${stack.callerCredentials.secretAccessKey}

With the CLI (these keys, or with no AWS credentials configured the stack's own local/local):

  npx flyte-databricks-lambda submit examples/jobs/pat.json --watch${cliUrl}
  npx flyte-databricks-lambda list ${DEMO_NAMESPACE}${cliUrl}

Or with curl (7.75 or newer), then follow the job (jobId is in the answer):

  curl -s --aws-sigv4 "aws:amz:${stack.region}:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \\
    -X POST ${stack.frontDoorUrl}/v1/jobs -H 'Content-Type: application/json' -d '${body}'
  curl -s --aws-sigv4 "aws:amz:${stack.region}:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \\
    ${stack.frontDoorUrl}/v1/jobs/<jobId>
  curl -s --aws-sigv4 "aws:amz:${stack.region}:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \\
    -X DELETE ${stack.frontDoorUrl}/v1/jobs/<jobId>
  curl -s --aws-sigv4 "aws:amz:${stack.region}:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \\
    "${stack.frontDoorUrl}/v1/jobs?limit=5&namespace=${DEMO_NAMESPACE}"
  (curl before 8 signs the query string as written, curl/curl#9717: keep its parameters in alphabetical order.)

Onboard a tenant as an operator would, with the AWS CLI and kubectl (every AWS request is checked against IAM:
these keys are the operator's, an administrator):

  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=${stack.region} AWS_DEFAULT_REGION=${stack.region}
${Object.entries(stack.awsEndpoints)
  .map(([service, url]) => `  export AWS_ENDPOINT_URL_${service}=${url}`)
  .join('\n')}
  aws secretsmanager create-secret --name flyte/my-team/databricks-token \\
    --secret-string '{"token":"dapi-...","host":"${new URL(stack.databricks.url).host}"}'
  kubectl --kubeconfig ${stack.kubeconfig} get serviceaccounts -A
  kubectl --kubeconfig ${stack.kubeconfig} -n my-team create serviceaccount databricks-runner

Where this stack differs from the template (endpoints, faster polls) is listed by function in
stack.describe.differences; each function runs from its asset in cdk.out under Node 22, with its own role.

Press Ctrl-C to stop.`);

const shutdown = async () => {
  await statusPage.close();
  await stack.stop();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
