/**
 * The embedded local stack, driven by the synthesized CDK template: `startLocalStack` synthesizes the app with the
 * local context (template/synth-local-template.ts, cached), creates the template's tables and queues on the local
 * emulators (DynamoDB is dynalite, SQS is local-aws-sqs; Secrets Manager, STS, EKS, the Kubernetes API and the
 * Databricks workspace are ours), runs every function from its built asset under the Node the template names,
 * through the Lambda Runtime API (lambda-runtime/function-environments.ts: one process per execution environment),
 * feeds them from the template's event source mappings, schedule and API methods, and authorizes every AWS request
 * a function makes against its role's policies from the template (iam/aws-gateway.ts). Where the local stack
 * differs from the template (emulator endpoints, faster clocks for tests) it says so in one place,
 * template/local-overrides.ts, and `differences` lists it. Everything listens on 127.0.0.1; no Docker.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayEventIdentity } from 'aws-lambda';
import dynalite from 'dynalite';
import { createSqsServer } from 'local-aws-sqs';
import { trustIssuerCa } from './emulators/databricks-oidc-federation.js';
import {
  type DatabricksWorkspace,
  type DatabricksWorkspaceOptions,
  startDatabricksWorkspace,
} from './emulators/databricks-workspace.js';
import { startEks } from './emulators/eks.js';
import { type KubernetesApi, startKubernetesApi, writeKubeconfig } from './emulators/kubernetes-api.js';
import { type SecretsManagerEmulator, startSecretsManager } from './emulators/secrets-manager.js';
import { type StsEmulator, startSts } from './emulators/sts.js';
import { feedEmulatorFaults } from './faults/emulator-faults.js';
import type { FaultPlan } from './faults/fault-plan.js';
import { startAwsGateway } from './iam/aws-gateway.js';
import type { AwsService } from './iam/aws-request-action.js';
import type { PolicyDocument } from './iam/iam-policy-evaluation.js';
import { IamPrincipals } from './iam/iam-principals.js';
import type { LeastPrivilegeReport } from './iam/least-privilege-report.js';
import { SqsSenderIds } from './iam/sqs-sender-ids.js';
import { QueueActivity } from './lambda-runtime/queue-activity.js';
import { type StackFunctions, startStackFunctions } from './stack-functions.js';
import {
  type AccessKeyPair,
  type ApiCaller,
  type FunctionPrincipal,
  functionPrincipals,
  localPrincipals,
} from './stack-principals.js';
import { EmfMetrics } from './status-page/emf-metrics.js';
import { type IntrinsicScope, resolveIntrinsics } from './template/intrinsics.js';
import {
  CONNECTOR_CLIENT_ID,
  CONNECTOR_SUBJECT,
  LOCAL_ACCOUNT_ID,
  LOCAL_CALLER,
  LOCAL_CLUSTER_NAME,
  LOCAL_REGION,
  OIDC_AUDIENCE,
} from './template/local-context.js';
import { physicalResources } from './template/physical-resources.js';
import { parseStackTemplate, type StackTemplate } from './template/stack-template.js';
import { synthLocalTemplate } from './template/synth-local-template.js';
import { createTemplateQueues, createTemplateTable, viaEndpoint } from './template/template-resources.js';

export type { AccessKeyPair, ApiCaller } from './stack-principals.js';

const HOST = '127.0.0.1';
/** How many function log lines `functionLogs` keeps (the most recent). */
const MAX_FUNCTION_LOG_LINES = 20_000;

export interface LocalStackOptions {
  /** Replaces every function's timeout (the template's are 15-90 s): an invocation is ended after it, as Lambda does. */
  functionTimeoutSeconds?: number;
  /** Further workspace hosts ALLOWED_DATABRICKS_HOSTS names besides the stack's own (e.g. a second emulator). */
  extraAllowedHosts?: string[];
  /**
   * CALLER_NAMESPACES for this stack, given the local caller's ARN and principal id (default: the template's, where
   * the local caller and the operator's sessions may use every namespace).
   */
  callerNamespaces?: (caller: LocalCallers) => Record<string, string[]>;
  /** Front door port; 0 picks a free one. */
  port?: number;
  databricks?: DatabricksWorkspaceOptions;
  /** Extra environment for every function (e.g. FLYTE_DATABRICKS_ACCESS_TOKEN, STALE_AFTER_SECONDS). */
  env?: Record<string, string>;
  /** Replaces the queues' redrive maxReceiveCount and the functions' MAX_RECEIVE_COUNT (the template's: 5). */
  maxReceiveCount?: number;
  /** Replaces the work queues' visibility timeout (the template's: 6x the consumer's timeout). */
  visibilityTimeoutSeconds?: number;
  /** Replaces the poll interval bounds (the template's: 10 and 180 s). */
  pollIntervalSeconds?: { min: number; max: number };
  /** How often the sweeper runs (the template's schedule: every 5 minutes). */
  sweepIntervalMs?: number;
  /**
   * IAM (SigV4) authorization on the front door, as the template's methods have (default true). false lets unsigned
   * requests through and makes the stack an open one (INSECURE_ANY_CALLER_ANY_NAMESPACE): a listed difference.
   */
  sigv4?: boolean;
  /** Further callers (key pairs and who they are) the front door and SQS accept, with a caller's policy. */
  apiCallers?: ApiCaller[];
  /**
   * Chaos (infra/local/chaos.ts): inject faults per this plan: the functions' DynamoDB and SQS requests through
   * faulty gateways, the Databricks, Kubernetes and STS emulators' fault queues fed from it, and invocations killed
   * at its `handler` rate. The stack's own clients and the event sources' receive/delete get no faults.
   */
  faultPlan?: FaultPlan;
  /** Replaces the event sources' batching window (the template's poll mapping waits up to 5 s to fill a batch). */
  eventSourceBatchingWindowSeconds?: number;
  /** Caps each event source's concurrent batches below the template's maxConcurrency (tests: fewer processes). */
  eventSourceConcurrency?: number;
  /** Count the functions' DynamoDB and SQS requests by operation (LocalStack.awsRequests). */
  countAwsRequests?: boolean;
  /**
   * Changes the synthesized template before the stack is built from it (negative controls: a grant removed, a
   * variable dropped, a handler renamed). The template file in cdk.out is never modified.
   */
  editTemplate?: (template: TemplateJson) => void;
  /**
   * Initialize one execution environment per function at start, as a provisioned concurrency of 1 would (default
   * true), so a scenario's first invocations do not wait for a cold start. false: every first invocation is cold.
   */
  prewarm?: boolean;
  /** POWERTOOLS_LOG_LEVEL / AWS_LAMBDA_LOG_LEVEL for every function (default: the template's). */
  logLevel?: string;
  /**
   * Each line the functions print, besides LocalStack.functionLogs (default: also this process's stdout/stderr,
   * unchanged, as CloudWatch Logs would show them).
   */
  onFunctionLog?: (line: string, functionName: string, stream: 'stdout' | 'stderr') => void;
  /**
   * METRICS_WORKSPACE_DIMENSION=true where the template sets it (the functions that call Databricks; default: the
   * template's value): WorkspaceCalls, for the status page's calls per workspace. A listed difference.
   */
  metricsWorkspaceDimension?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped.
export type TemplateJson = any;

/** The functions' AWS requests by operation; the workspace budget ledger's DynamoDB requests apart from the jobs'. */
export type AwsRequestCounts = Record<'dynamodb' | 'sqs' | 'budgetLedger', Record<string, number>>;

/** One request the front door passed to the api function, with the caller identity the function saw. */
export interface FrontDoorCall {
  method: string;
  path: string;
  resource: string;
  identity: APIGatewayEventIdentity;
}

export interface QueueUrls {
  submit: string;
  poll: string;
  cancel: string;
  submitDlq: string;
  pollDlq: string;
  cancelDlq: string;
}

/** Short names of the suite's functions, as the template's logical ids name them (`SubmitFunction` -> submit). */
export type FunctionKey = 'api' | 'submit' | 'poll' | 'cancel' | 'sweep';

/** The local principals CALLER_NAMESPACES can name. */
export interface LocalCallers {
  /** The IAM user behind the generated caller key pair. */
  callerArn: string;
  /** Its unique id: what SQS stamps as SenderId on what it sends. */
  callerPrincipalId: string;
  /** The operator's role (key `local`), which the CLI signs with when no other credentials are configured. */
  functionRoleArn: string;
}

export interface StackDescription {
  /** The template the stack runs, in its cdk.out. */
  template: string;
  /** The functions' runtime, from the template (`nodejs22.x`). */
  runtime: string;
  /** Every way the local stack differs from the template, per function (template/local-overrides.ts). */
  differences: Record<string, string[]>;
}

export interface LocalStack {
  frontDoorUrl: string;
  region: string;
  /** Whether the front door requires SigV4 (LocalStackOptions.sigv4). */
  sigv4: boolean;
  /** A key pair generated at start for the local caller (an IAM user); dummy, local only. */
  callerCredentials: AccessKeyPair;
  /** The IAM user ARN behind callerCredentials. */
  callerArn: string;
  /** The IAM user id behind callerCredentials: SenderId of the messages it sends, identity.user at the front door. */
  callerPrincipalId: string;
  /** Every further caller, with its principalId. */
  apiCallers: readonly (ApiCaller & { principalId: string })[];
  /** The latest requests the api function handled (up to 1000), oldest first, with the caller identity it saw. */
  frontDoorCalls: FrontDoorCall[];
  databricks: DatabricksWorkspace;
  secrets: SecretsManagerEmulator;
  kubernetes: KubernetesApi;
  sts: StsEmulator;
  /** The operator's role ARN (the stack's own clients, the CLI without credentials). */
  functionRoleArn: string;
  /** Each function's execution role ARN, from the template. */
  functionRoleArns: Record<FunctionKey, string>;
  /** The session ARN each function's calls are made as (`arn:aws:sts::…:assumed-role/<role>/<function>`). */
  functionSessionArns: Record<FunctionKey, string>;
  /** The connector's service principal for OIDC Model 1 (DATABRICKS_CLIENT_ID), trusting the connector identities. */
  connectorClientId: string;
  /** The operator role's unique id. */
  functionRoleId: string;
  /** A private folder for files the stack's tenants need (projected token files); removed by stop(). */
  scratchDir: string;
  /** Signs as the operator. */
  dynamodb: DynamoDBClient;
  /** Signs as the operator. */
  sqs: SQSClient;
  /** An SQS client signing with `credentials`; a key the stack does not know is refused. Destroyed by stop(). */
  sqsAs(credentials: AccessKeyPair): SQSClient;
  tableName: string;
  budgetTableName: string;
  queues: QueueUrls;
  /**
   * A function's environment as it runs (template + overrides), with the operator's credentials instead of the
   * function's: for tests and tools in this process that read the configuration (shared/config.ts).
   */
  env: Record<string, string>;
  /**
   * The AWS endpoints (IAM gateways) for tools acting as the operator (keys local/local), as AWS_ENDPOINT_URL_<X>
   * variables: the AWS CLI onboarding a tenant (`aws secretsmanager create-secret ...`) uses them.
   */
  awsEndpoints: Record<'DYNAMODB' | 'SQS' | 'SECRETS_MANAGER' | 'STS' | 'EKS', string>;
  /** A kubeconfig for the emulated EKS cluster (TLS, `aws eks get-token` as the operator), for kubectl. */
  kubeconfig: string;
  /** The latest lines the functions printed (up to 20,000), oldest first: what CloudWatch Logs would hold. */
  functionLogs: string[];
  /** The metrics in the functions' EMF lines, in fixed time buckets (status-page/emf-metrics.ts). */
  metrics: EmfMetrics;
  /** Every dead-letter queue the template defines (a redrive policy's target): logical id -> URL. */
  deadLetterQueues: Record<string, string>;
  /** A function's role session keys: for a test acting as that function (a message only it may send). */
  credentialsOf(fn: FunctionKey): AccessKeyPair;
  /**
   * A function's environment as the stack runs it (template + local overrides): its own AWS endpoints (the
   * function-side gateways, which count with `countAwsRequests`), its queue URLs at them, its settings. Without its
   * credentials (credentialsOf) and the variables Lambda sets itself: for a process acting as that function.
   */
  functionEnvironment(fn: FunctionKey): Record<string, string>;
  /** With `countAwsRequests` (or a fault plan): the functions' requests so far, live. Empty otherwise. */
  awsRequests: AwsRequestCounts;
  /** Invocations ended at their function timeout so far, per function (physical name). */
  lambdaTimeouts(): Record<string, number>;
  /** Cold and warm starts per function so far, and the inits that failed and environments that crashed. */
  functionStarts(): Record<string, { cold: number; warm: number; initErrors: number; crashes: number }>;
  /** Granted, used and unused IAM grants per principal, and every denied call, so far. */
  iamReport(): LeastPrivilegeReport;
  describe: StackDescription;
  /** Resolves once every queue is empty and no function is running: all that was sent has been handled. */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

type Closer = () => Promise<void>;

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const closers: Closer[] = [];
  try {
    return await start(options, closers);
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

/** The synthesized template, with the scenario's edits. */
async function loadTemplate(options: LocalStackOptions): Promise<StackTemplate> {
  const { cdkOut, stackName } = await synthLocalTemplate();
  const path = join(cdkOut, `${stackName}.template.json`);
  const json = JSON.parse(readFileSync(path, 'utf8')) as TemplateJson;
  options.editTemplate?.(json);
  return parseStackTemplate(json, { path, cdkOut, stackName });
}

const keyOf = (logicalId: string): FunctionKey => logicalId.replace(/Function$/, '').toLowerCase() as FunctionKey;

async function start(options: LocalStackOptions, closers: Closer[]): Promise<LocalStack> {
  // The local stack runs on the developer's Node (20 here); the functions run on the template's Node 22.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const region = LOCAL_REGION;
  const accountId = LOCAL_ACCOUNT_ID;
  const template = await loadTemplate(options);
  const scratchDir = mkdtempSync(join(tmpdir(), 'fdl-local-'));
  closers.push(async () => rmSync(scratchDir, { recursive: true, force: true }));

  // Names, ARNs and role ids first: policies and redrive policies refer to them before anything exists.
  let scope: IntrinsicScope = physicalResources(template, { region, accountId });
  const functions = functionPrincipals(template, scope);
  const queueArn = (prefix: string) => arnOf(template, scope, 'AWS::SQS::Queue', prefix);
  const api = template.apis[0];
  const apiId = api ? (scope.resources.get(api.logicalId)?.ref ?? '') : '';
  const local = localPrincipals({
    apiArns: api ? [`arn:aws:execute-api:${region}:${accountId}:${apiId}/*`] : [],
    submitQueueArn: queueArn('SubmitQueue'),
    apiCallers: options.apiCallers ?? [],
  });
  const principals = new IamPrincipals({ accountId, principals: [...functions.map((f) => f.init), ...local.inits] });
  for (const policy of template.queuePolicies) {
    const document = resolveIntrinsics(policy.document, scope, policy.logicalId) as PolicyDocument;
    for (const queue of policy.queueLogicalIds) {
      const arn = scope.resources.get(queue)?.attributes.Arn;
      if (arn) principals.setResourcePolicy(arn, document);
    }
  }

  // The emulators.
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, HOST, resolve));
  closers.push(() => new Promise((resolve) => dynamo.close(() => resolve())));
  const sqsServer = await createSqsServer({ port: 0, hostname: HOST, emulateQueueCreationLifecycle: false, region });
  closers.push(() => new Promise((resolve) => sqsServer.close(() => resolve())));
  const secrets = await startSecretsManager({ port: 0, region, accountId, credentials: 'any' });
  closers.push(() => secrets.close());
  const databricks = await startDatabricksWorkspace(options.databricks ?? {});
  closers.push(() => databricks.close());
  const knownKeys = Object.fromEntries(principals.all().map((p) => [p.accessKeyId, p.secretAccessKey]));
  const principalArnOf = (accessKeyId: string) => principals.byAccessKeyId(accessKeyId)?.principalArn ?? '';
  // The EKS cluster: the functions authenticate with EKS tokens presigned with their role sessions, as on Lambda.
  // Over TLS with a CA of its own, written to the scratch folder: kubectl and the functions trust it (the functions
  // read it from eks:DescribeCluster, as on EKS).
  const kubernetes = await startKubernetesApi({
    port: 0,
    clusterName: LOCAL_CLUSTER_NAME,
    tls: { directory: scratchDir },
    // EKS access entries map IAM roles to Kubernetes users: a function's user is its role's ARN.
    acceptEksTokens: { region, credentials: knownKeys, accountId, principalFor: principalArnOf },
  });
  closers.push(() => kubernetes.close());
  if (!kubernetes.caCertificate) throw new Error('the Kubernetes API emulator started without TLS');
  // Databricks fetches the cluster's OIDC issuer keys over that TLS (on the internet a public CA would sign it).
  trustIssuerCa(kubernetes.caCertificate);
  const sts = await startSts({
    port: 0,
    region,
    accountId,
    credentials: knownKeys,
    roleArnFor: principalArnOf,
    // GetCallerIdentity answers as IAM sees the key: a function's session named after the function, its role's id.
    identityFor: (accessKeyId) => {
      const principal = principals.byAccessKeyId(accessKeyId);
      return principal ? { arn: principal.sessionArn, userId: principal.userId } : undefined;
    },
  });
  closers.push(() => sts.close());
  const eks = await startEks({
    region,
    accountId,
    cluster: {
      name: LOCAL_CLUSTER_NAME,
      endpoint: kubernetes.url,
      caData: Buffer.from(kubernetes.caCertificate).toString('base64'),
      oidcIssuer: kubernetes.issuer,
    },
  });
  closers.push(() => eks.close());

  // The IAM gateways: every AWS request is signed by a known key and authorized before an emulator sees it.
  const sqsSenderIds = new SqsSenderIds();
  // Every SQS gateway announces the sends the emulator accepted, waking that queue's event source.
  const activity = new QueueActivity();
  const announceSends = (operation: string, body: Buffer) => {
    const queue = QueueActivity.queueOfSend(operation, body);
    if (queue) activity.sent(queue);
  };
  const awsRequests: AwsRequestCounts = { dynamodb: {}, sqs: {}, budgetLedger: {} };
  const budgetTableName =
    scope.resources.get(logicalIdOf(template, 'AWS::DynamoDB::Table', 'WorkspaceBudgetTable'))?.ref ?? '';
  const count = (service: keyof AwsRequestCounts) => (operation: string) => {
    awsRequests[service][operation] = (awsRequests[service][operation] ?? 0) + 1;
  };
  const counting = options.countAwsRequests || options.faultPlan !== undefined;
  const gateway = async (
    service: AwsService,
    upstreamUrl: string,
    extra: Partial<Parameters<typeof startAwsGateway>[0]> = {},
  ) => {
    const started = await startAwsGateway({ service, upstreamUrl, region, accountId, principals, ...extra });
    closers.push(() => started.close());
    return started.url;
  };
  const dynamoUrl = `http://${HOST}:${(dynamo.address() as AddressInfo).port}`;
  const sqsServerUrl = `http://${HOST}:${(sqsServer.address() as AddressInfo).port}`;
  const plan = options.faultPlan;
  // The stack's own clients and the event sources (AWS's side) go through gateways without faults or counting.
  const quietDynamoUrl = await gateway('dynamodb', dynamoUrl);
  const quietSqsUrl = await gateway('sqs', sqsServerUrl, { sqsSenderIds, answered: announceSends });
  const fnDynamoUrl = counting
    ? await gateway('dynamodb', dynamoUrl, {
        ...(plan ? { plan } : {}),
        observe: (operation, body) =>
          (body.includes(`"${budgetTableName}"`) ? count('budgetLedger') : count('dynamodb'))(operation),
      })
    : quietDynamoUrl;
  const fnSqsUrl = counting
    ? await gateway('sqs', sqsServerUrl, {
        sqsSenderIds,
        ...(plan ? { plan } : {}),
        observe: count('sqs'),
        answered: announceSends,
      })
    : quietSqsUrl;
  const secretsUrl = await gateway('secretsmanager', secrets.url, { secretArn: secretArnLookup(secrets.url, region) });
  const stsUrl = await gateway('sts', sts.url);
  const eksUrl = await gateway('eks', eks.url);
  if (plan) {
    const stopFeeding = feedEmulatorFaults({ databricks, kubernetes, sts }, plan);
    closers.push(async () => stopFeeding());
  }

  // The stack's own clients: the operator.
  const operatorCredentials = {
    accessKeyId: local.operator.accessKeyId,
    secretAccessKey: local.operator.secretAccessKey,
  };
  const dynamodb = new DynamoDBClient({ region, endpoint: quietDynamoUrl, credentials: operatorCredentials });
  const sqs = new SQSClient({ region, endpoint: quietSqsUrl, credentials: operatorCredentials });
  const sqsClients: SQSClient[] = [];
  const sqsAs = (keys: AccessKeyPair): SQSClient => {
    const client = new SQSClient({ region, endpoint: quietSqsUrl, credentials: keys });
    sqsClients.push(client);
    return client;
  };
  closers.push(async () => {
    for (const client of [dynamodb, sqs, ...sqsClients.splice(0)]) client.destroy();
  });

  // The template's tables and queues.
  for (const table of template.tables) {
    await createTemplateTable(dynamodb, table, scope.resources.get(table.logicalId)?.ref ?? table.logicalId);
  }
  const maxReceiveCount = options.maxReceiveCount;
  const edited =
    maxReceiveCount === undefined
      ? template
      : {
          ...template,
          queues: template.queues.map((q) => (q.redrive ? { ...q, redrive: { ...q.redrive, maxReceiveCount } } : q)),
        };
  const queueUrls = await createTemplateQueues(sqs, edited, scope, {
    ...(options.visibilityTimeoutSeconds !== undefined
      ? { visibilityTimeoutSeconds: options.visibilityTimeoutSeconds }
      : {}),
  });
  // The functions reach SQS at the queue URL's host (the SDK's useQueueUrlAsEndpoint): their own gateway's.
  scope = physicalResources(
    template,
    { region, accountId },
    mapValues(queueUrls, (url) => viaEndpoint(url, fnSqsUrl)),
  );
  const quietQueue = (logicalId: string | undefined) =>
    viaEndpoint((logicalId && queueUrls.get(logicalId)) || '', quietSqsUrl);
  const workQueue = (prefix: string) => logicalIdOf(template, 'AWS::SQS::Queue', prefix);
  // A work queue's DLQ is the one its redrive policy names.
  const deadLetterOf = (prefix: string) =>
    template.queues.find((queue) => queue.logicalId === workQueue(prefix))?.redrive?.deadLetterLogicalId;
  const queues: QueueUrls = {
    submit: quietQueue(workQueue('SubmitQueue')),
    poll: quietQueue(workQueue('PollQueue')),
    cancel: quietQueue(workQueue('CancelQueue')),
    submitDlq: quietQueue(deadLetterOf('SubmitQueue')),
    pollDlq: quietQueue(deadLetterOf('PollQueue')),
    cancelDlq: quietQueue(deadLetterOf('CancelQueue')),
  };
  // The queues some redrive policy names: the DLQs the status page watches.
  const deadLetterQueues: Record<string, string> = {};
  for (const { redrive } of template.queues) {
    if (redrive) deadLetterQueues[redrive.deadLetterLogicalId] = quietQueue(redrive.deadLetterLogicalId);
  }

  // The connector's own service principal (OIDC Model 1), the operator's (DATABRICKS_CLIENT_ID): it trusts the
  // connector's projected ServiceAccount token and, through STS, the roles of the functions that call Databricks.
  const databricksCallers = functions.filter((f) => 'DATABRICKS_CLIENT_ID' in f.fn.environment);
  databricks.addServicePrincipal({
    applicationId: CONNECTOR_CLIENT_ID,
    displayName: 'flyte-connector',
    federationPolicies: [
      { issuer: kubernetes.issuer, audiences: [OIDC_AUDIENCE], subject: CONNECTOR_SUBJECT },
      ...databricksCallers.map((f) => ({ issuer: sts.issuer, audiences: [OIDC_AUDIENCE], subject: f.roleArn })),
    ],
  });

  const sigv4 = options.sigv4 ?? true;
  const functionLogs: string[] = [];
  const metrics = new EmfMetrics();
  const callers: LocalCallers = {
    callerArn: LOCAL_CALLER.arn,
    callerPrincipalId: LOCAL_CALLER.uniqueId,
    functionRoleArn: local.operator.principalArn,
  };
  const stackFunctions: StackFunctions = await startStackFunctions({
    template,
    scope,
    functions,
    principals,
    region,
    accountId,
    apiId,
    overrides: {
      endpoints: {
        databricksUrl: databricks.url,
        tokenFileDir: scratchDir,
        aws: { DYNAMODB: fnDynamoUrl, SQS: fnSqsUrl, SECRETS_MANAGER: secretsUrl, STS: stsUrl, EKS: eksUrl },
      },
      timing: {
        ...(options.pollIntervalSeconds ? { pollIntervalSeconds: options.pollIntervalSeconds } : {}),
        ...(maxReceiveCount !== undefined ? { maxReceiveCount } : {}),
      },
      ...(sigv4
        ? options.callerNamespaces
          ? { callerNamespaces: options.callerNamespaces(callers) }
          : {}
        : { callerNamespaces: 'insecure-any' as const }),
      ...(options.extraAllowedHosts ? { extraAllowedHosts: options.extraAllowedHosts } : {}),
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      ...(options.env ? { extra: options.env } : {}),
      ...(options.metricsWorkspaceDimension ? { metricsWorkspaceDimension: true } : {}),
    },
    ...(options.functionTimeoutSeconds !== undefined ? { functionTimeoutSeconds: options.functionTimeoutSeconds } : {}),
    eventSourceSqsUrl: quietSqsUrl,
    queueActivity: activity,
    ...(options.visibilityTimeoutSeconds !== undefined
      ? { visibilityTimeoutSeconds: options.visibilityTimeoutSeconds }
      : {}),
    ...(options.eventSourceBatchingWindowSeconds !== undefined
      ? { batchingWindowSeconds: options.eventSourceBatchingWindowSeconds }
      : {}),
    ...(options.eventSourceConcurrency !== undefined ? { eventSourceConcurrency: options.eventSourceConcurrency } : {}),
    ...(options.sweepIntervalMs !== undefined ? { sweepIntervalMs: options.sweepIntervalMs } : {}),
    ...(plan ? { faultPlan: plan } : {}),
    sigv4,
    port: options.port ?? 0,
    prewarm: options.prewarm ?? true,
    ...(api?.policy ? { apiPolicy: resolveIntrinsics(api.policy, scope, api.logicalId) as PolicyDocument } : {}),
    onLog: (line, functionName, stream) => {
      const isMetric = stream === 'stdout' && metrics.accept(line);
      functionLogs.push(line);
      if (functionLogs.length > MAX_FUNCTION_LOG_LINES)
        functionLogs.splice(0, functionLogs.length - MAX_FUNCTION_LOG_LINES);
      if (options.onFunctionLog) options.onFunctionLog(line, functionName, stream);
      // Metric lines are for the status page (and CloudWatch), not for a reader of the terminal.
      else if (!isMetric) (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`);
    },
  });
  closers.push(() => stackFunctions.stop());

  const byKey = <T>(pick: (f: FunctionPrincipal) => T) =>
    Object.fromEntries(functions.map((f) => [keyOf(f.fn.logicalId), pick(f)])) as Record<FunctionKey, T>;
  const submitEnv = stackFunctions.environments.SubmitFunction ?? {};
  return {
    frontDoorUrl: stackFunctions.frontDoorUrl,
    region,
    sigv4,
    callerCredentials: { accessKeyId: local.caller.accessKeyId, secretAccessKey: local.caller.secretAccessKey },
    callerArn: local.caller.principalArn,
    callerPrincipalId: local.caller.principalId,
    apiCallers: local.apiCallers,
    frontDoorCalls: stackFunctions.frontDoorCalls,
    databricks,
    secrets,
    kubernetes,
    sts,
    functionRoleArn: local.operator.principalArn,
    functionRoleArns: byKey((f) => f.roleArn),
    functionSessionArns: byKey((f) => principals.byAccessKeyId(f.keys.accessKeyId)?.sessionArn ?? ''),
    connectorClientId: CONNECTOR_CLIENT_ID,
    functionRoleId: local.operator.principalId,
    scratchDir,
    dynamodb,
    sqs,
    sqsAs,
    tableName: scope.resources.get(logicalIdOf(template, 'AWS::DynamoDB::Table', 'JobsTable'))?.ref ?? '',
    budgetTableName,
    queues,
    env: {
      ...submitEnv,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: operatorCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: operatorCredentials.secretAccessKey,
      // In this process the operator reaches SQS through its own gateway.
      SUBMIT_QUEUE_URL: queues.submit,
      POLL_QUEUE_URL: queues.poll,
      CANCEL_QUEUE_URL: queues.cancel,
      AWS_ENDPOINT_URL_DYNAMODB: quietDynamoUrl,
      AWS_ENDPOINT_URL_SQS: quietSqsUrl,
    },
    awsRequests,
    awsEndpoints: {
      DYNAMODB: quietDynamoUrl,
      SQS: quietSqsUrl,
      SECRETS_MANAGER: secretsUrl,
      STS: stsUrl,
      EKS: eksUrl,
    },
    kubeconfig: writeKubeconfig({
      server: kubernetes.url,
      caFile: kubernetes.caFile ?? '',
      clusterName: LOCAL_CLUSTER_NAME,
      credentials: operatorCredentials,
      region,
      path: join(scratchDir, 'kubeconfig'),
    }),
    functionLogs,
    metrics,
    deadLetterQueues,
    credentialsOf: (fn) => {
      const found = functions.find((f) => keyOf(f.fn.logicalId) === fn);
      if (!found) throw new Error(`no ${fn} function in the template`);
      return { ...found.keys };
    },
    functionEnvironment: (fn) => {
      const found = functions.find((f) => keyOf(f.fn.logicalId) === fn);
      if (!found) throw new Error(`no ${fn} function in the template`);
      return { ...(stackFunctions.environments[found.fn.logicalId] ?? {}) };
    },
    lambdaTimeouts: () => stackFunctions.timeouts(),
    functionStarts: () => stackFunctions.starts(),
    iamReport: () => principals.report(),
    describe: {
      template: template.path,
      runtime: [...new Set(template.functions.map((f) => f.runtime))].join(','),
      differences: stackFunctions.differences,
    },
    drain: (drainTimeoutMs = 30_000) => stackFunctions.drain(drainTimeoutMs),
    stop: () => closeAll(closers),
  };
}

async function closeAll(closers: Closer[]): Promise<void> {
  // Reverse order: stop the consumers before the services they consume.
  for (const close of closers.splice(0).reverse()) {
    await close().catch(() => undefined);
  }
}

/** The logical id of the template's resource of `type` whose id starts with `prefix` (CDK appends a hash). */
function logicalIdOf(template: StackTemplate, type: string, prefix: string): string {
  const matches = template.resources.filter(
    (r) => r.type === type && r.logicalId.startsWith(prefix) && /^[0-9A-F]{8}$/.test(r.logicalId.slice(prefix.length)),
  );
  if (matches.length !== 1) throw new Error(`the template has ${matches.length} ${type} named ${prefix}<hash>`);
  return (matches[0] as { logicalId: string }).logicalId;
}

function arnOf(template: StackTemplate, scope: IntrinsicScope, type: string, prefix: string): string | undefined {
  return scope.resources.get(logicalIdOf(template, type, prefix))?.attributes.Arn;
}

function mapValues<T>(map: ReadonlyMap<string, string>, f: (value: string) => T): Map<string, T> {
  return new Map([...map].map(([key, value]) => [key, f(value)]));
}

/**
 * A secret's full ARN (with its random suffix) from the name or partial ARN a request gives, asked of the emulator
 * itself (behind the gateway, so the lookup is never authorized or counted): IAM decides on the full ARN.
 */
function secretArnLookup(emulatorUrl: string, region: string): (secretId: string) => Promise<string | undefined> {
  const client = new SecretsManagerClient({
    region,
    endpoint: emulatorUrl,
    credentials: { accessKeyId: 'lookup', secretAccessKey: 'lookup' },
  });
  return async (secretId) => {
    try {
      return (await client.send(new DescribeSecretCommand({ SecretId: secretId }))).ARN;
    } catch {
      return undefined;
    }
  };
}
