/**
 * The embedded local stack: everything the functions talk to, on 127.0.0.1, in this Node process, no Docker.
 * DynamoDB is dynalite, SQS is local-aws-sqs, Secrets Manager and the Databricks workspace are our emulators;
 * the handlers run behind an API Gateway-style front door, Lambda-style SQS event sources and, for the sweeper, a
 * timer that invokes it with an EventBridge scheduled event, as its schedule rule does on AWS. Handlers
 * reach the AWS emulators only through the SDK's AWS_ENDPOINT_URL_* variables, as they would reach LocalStack.
 * Every SQS request (the handlers', the event sources', the stack's own clients') goes through a proxy that checks
 * its SigV4 signature against the stack's principals and stamps each message with its signer's SenderId, as SQS does
 * (emulators/sqs-identity.ts).
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayEventIdentity, APIGatewayProxyEvent, Context, ScheduledEvent } from 'aws-lambda';
import dynalite from 'dynalite';
import { createSqsServer } from 'local-aws-sqs';
import { CONNECTOR_SUBJECT, OIDC_AUDIENCE } from './connector-identity.js';
import {
  type DatabricksWorkspace,
  type DatabricksWorkspaceOptions,
  startDatabricksWorkspace,
} from './emulators/databricks-workspace.js';
import { type KubernetesApi, startKubernetesApi } from './emulators/kubernetes-api.js';
import { type SecretsManagerEmulator, startSecretsManager } from './emulators/secrets-manager.js';
import { SqsIdentity } from './emulators/sqs-identity.js';
import { type StsEmulator, startSts } from './emulators/sts.js';
import { startAwsProxy } from './faults/aws-fault-proxy.js';
import { feedEmulatorFaults } from './faults/emulator-faults.js';
import type { FaultPlan } from './faults/fault-plan.js';
import { createJobsTable, createWorkspaceBudgetTable } from './jobs-table.js';
import { type ApiGatewayLambdaHandler, startFrontDoor } from './lambda-runtime/api-gateway-front-door.js';
import { scheduledEvent } from './lambda-runtime/event-shapes.js';
import { type ApiCaller, callerIdentity, sigV4Authorization } from './lambda-runtime/front-door-sigv4.js';
import { invokeHandler, LambdaTimeoutError } from './lambda-runtime/invoke-handler.js';
import { createLambdaContext } from './lambda-runtime/lambda-context.js';
import { type SqsEventSource, startSqsEventSource } from './lambda-runtime/sqs-event-source.js';

const HOST = '127.0.0.1';
const REGION = 'us-east-1';
const TABLE_NAME = 'flyte-databricks-jobs';
const BUDGET_TABLE_NAME = 'flyte-databricks-workspace-budget';
const FUNCTION_TIMEOUT_SECONDS = 20;
const ACCOUNT_ID = '123456789012';
const CLUSTER_NAME = 'local-eks';
/** The handlers' AWS identity: what STS and the Kubernetes API see them as. */
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** The IAM user behind the caller key pair generated at each start. */
const CALLER_USER = 'flyte-databricks-local-caller';
/** How many front door invocations `frontDoorCalls` keeps (the most recent). */
const MAX_RECORDED_CALLS = 1000;
/** The sweeper's schedule here; AWS runs it every 5 minutes (infra/stack.ts), the local stack more often. */
const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

export interface LocalStackOptions {
  /** The functions' timeout (default 20 s): an invocation is abandoned after it, as Lambda ends it. */
  functionTimeoutSeconds?: number;
  /** Further workspace hosts ALLOWED_DATABRICKS_HOSTS names besides the stack's own (e.g. a second emulator). */
  extraAllowedHosts?: string[];
  /**
   * CALLER_NAMESPACES for this stack, given the local caller's ARN and principal id (default: that caller may use
   * every namespace, at the front door and as a queue producer).
   */
  callerNamespaces?: (caller: LocalCallers) => Record<string, string[]>;
  /** Front door port; 0 picks a free one. */
  port?: number;
  databricks?: DatabricksWorkspaceOptions;
  /** Extra environment for the handlers (e.g. FLYTE_DATABRICKS_ACCESS_TOKEN), applied before they load. */
  env?: Record<string, string>;
  maxReceiveCount?: number;
  /** Queue visibility timeout; Lambda wants at least the function timeout (AWS advises 6x). */
  visibilityTimeoutSeconds?: number;
  pollIntervalSeconds?: { min: number; max: number };
  /**
   * How often the sweeper runs (default 60 s). What it finds stale is set through `env` (STALE_AFTER_SECONDS,
   * HEARTBEAT_SECONDS, MAX_RESCUES), as on Lambda.
   */
  sweepIntervalMs?: number;
  /**
   * IAM (SigV4) authorization on the front door, as the deployed API has on every method (default true): requests
   * must be signed for `execute-api` in the stack's region by a known key. false lets unsigned requests through.
   */
  sigv4?: boolean;
  /**
   * Access keys the front door (and SQS) accept besides the defaults (the stack's own `local` key, an IAM role, and
   * the caller key pair generated at start, an IAM user; see LocalStack.callerCredentials).
   */
  apiCallers?: ApiCaller[];
  /**
   * Chaos (infra/local/chaos.ts): inject faults per this plan. The handlers then reach DynamoDB and SQS through a
   * fault proxy (AWS-shaped errors, connection resets), the Databricks, Kubernetes and STS emulators' fault queues
   * are fed from it, and the SQS event sources kill invocations at its `handler` rate. The stack's own `dynamodb`
   * and `sqs` clients (and the event sources' receive/delete, which are AWS's side) get no faults (SQS requests still
   * go through the identity proxy, without faults).
   */
  faultPlan?: FaultPlan;
  /** Batches each SQS event source processes at once (default 2). */
  eventSourceConcurrency?: number;
  /**
   * Count the handlers' DynamoDB and SQS requests by operation, at the wire (LocalStack.awsRequests): the handlers
   * then reach both through a counting proxy. The stack's own clients and the event sources' receive/delete are not
   * counted. With a fault plan the fault proxies count.
   */
  countAwsRequests?: boolean;
}

/** The handlers' AWS requests seen at the wire, per service and operation (e.g. dynamodb GetItem). */
/** The handlers' AWS requests by operation; the workspace budget ledger's DynamoDB requests apart from the jobs'. */
export type AwsRequestCounts = Record<'dynamodb' | 'sqs' | 'budgetLedger', Record<string, number>>;

export interface AccessKeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

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

export interface LocalStack {
  frontDoorUrl: string;
  region: string;
  /** Whether the front door requires SigV4 (LocalStackOptions.sigv4). */
  sigv4: boolean;
  /** A key pair generated at start that the front door and SQS accept (an IAM user); dummy, local only. */
  callerCredentials: AccessKeyPair;
  /** The IAM user ARN behind callerCredentials. */
  callerArn: string;
  /**
   * The IAM user id (`AIDA` + 17) behind callerCredentials, generated with them: the SenderId of the messages it
   * sends, and `requestContext.identity.user`/`caller` of its front door requests.
   */
  callerPrincipalId: string;
  /** Every key pair the front door and SQS accept, and whose it is (each with its principalId). */
  apiCallers: readonly ApiCaller[];
  /** The latest requests the api function handled (up to 1000), oldest first, with the caller identity it saw. */
  frontDoorCalls: FrontDoorCall[];
  databricks: DatabricksWorkspace;
  secrets: SecretsManagerEmulator;
  kubernetes: KubernetesApi;
  sts: StsEmulator;
  /** The IAM role ARN the handlers run as (the `sub` of their STS web identity tokens). */
  functionRoleArn: string;
  /** The connector's service principal for OIDC Model 1 (DATABRICKS_CLIENT_ID), trusting both connector identities. */
  connectorClientId: string;
  /**
   * The unique id (`AROA` + 17, fixed) of that role. Its session here is named after the access key, `local`, as the
   * local STS answers GetCallerIdentity: messages the handlers and the stack's `sqs` client send have SenderId
   * `<functionRoleId>:local`.
   */
  functionRoleId: string;
  /** A private folder for files the stack's tenants need (projected token files); removed by stop(). */
  scratchDir: string;
  dynamodb: DynamoDBClient;
  /** Signs as the functions' role, through the SQS identity proxy. */
  sqs: SQSClient;
  /**
   * An SQS client signing with `credentials`, through the SQS identity proxy: its messages arrive with that
   * principal's SenderId; a key the stack does not know is refused (InvalidClientTokenId). Destroyed by stop().
   */
  sqsAs(credentials: AccessKeyPair): SQSClient;
  tableName: string;
  /** The queues, by URLs that name the SQS identity proxy. */
  queues: QueueUrls;
  /** The environment the handlers run with (also what `sam local` / LocalStack deployments need). */
  env: Record<string, string>;
  /** With `countAwsRequests` (or a fault plan): the handlers' requests so far, live. Empty otherwise. */
  awsRequests: AwsRequestCounts;
  /**
   * Invocations the runtime ended at their function timeout so far, per function (`flyte-databricks-submit`...). A
   * chaos kill (the fault plan's `handler` faults) is an injected fault, not the function's own timeout: not counted.
   */
  lambdaTimeouts(): Record<string, number>;
  /** Resolves once every queue is empty and no handler is running: all that was sent has been handled. */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

type Closer = () => Promise<void>;

/** The local principals CALLER_NAMESPACES can name. */
export interface LocalCallers {
  /** The IAM user behind the generated caller key pair. */
  callerArn: string;
  /** Its unique id: what SQS stamps as SenderId on what it sends. */
  callerPrincipalId: string;
  /** The functions' role (key `local`), which the CLI signs with when no other credentials are configured. */
  functionRoleArn: string;
}

/**
 * The local stack's default: the generated caller (at the front door and as a queue producer) and sessions of the
 * functions' role (the CLI with no credentials of its own) may use any namespace. Scenarios bind tighter.
 */
function defaultCallerNamespaces({ callerArn, callerPrincipalId, functionRoleArn }: LocalCallers) {
  const roleSessions = `${functionRoleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/*`;
  return { [callerArn]: ['*'], [callerPrincipalId]: ['*'], [roleSessions]: ['*'] };
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const closers: Closer[] = [];
  try {
    return await start(options, closers);
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

async function start(options: LocalStackOptions, closers: Closer[]): Promise<LocalStack> {
  // The local stack runs on the developer's Node (20 here); the functions run on Lambda's Node 22 or newer.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const credentials = CREDENTIALS;
  const scratchDir = mkdtempSync(join(tmpdir(), 'fdl-local-'));
  closers.push(async () => rmSync(scratchDir, { recursive: true, force: true }));
  const knownKeys = { [credentials.accessKeyId]: credentials.secretAccessKey };
  const functionRoleArn = `arn:aws:iam::${ACCOUNT_ID}:role/${credentials.accessKeyId}`;
  // The role id STS GetCallerIdentity and the front door derive from the ARN, so all three agree.
  const functionRoleId = principalIdOf({ ...credentials, principalArn: functionRoleArn });
  const callerCredentials = generateAccessKeyPair();
  const callerArn = `arn:aws:iam::${ACCOUNT_ID}:user/${CALLER_USER}`;
  const callerPrincipalId = generateUniqueId('AIDA');
  const apiCallers: ApiCaller[] = [
    { ...credentials, principalArn: functionRoleArn, principalId: functionRoleId },
    { ...callerCredentials, principalArn: callerArn, principalId: callerPrincipalId },
    ...(options.apiCallers ?? []).map((caller) => ({ ...caller, principalId: principalIdOf(caller) })),
  ];
  // SQS knows every principal of the stack; each message is received with its signer's SenderId.
  const sqsIdentity = new SqsIdentity({
    region: REGION,
    principals: apiCallers.map((caller) => ({
      accessKeyId: caller.accessKeyId,
      secretAccessKey: caller.secretAccessKey,
      senderId: callerIdentity(caller.accessKeyId, caller.principalArn, caller.principalId).caller ?? '',
    })),
  });

  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, HOST, resolve));
  closers.push(() => new Promise((resolve) => dynamo.close(() => resolve())));
  const dynamoUrl = `http://${HOST}:${(dynamo.address() as AddressInfo).port}`;

  const sqsServer = await createSqsServer({ port: 0, hostname: HOST, emulateQueueCreationLifecycle: false });
  closers.push(() => new Promise((resolve) => sqsServer.close(() => resolve())));
  const sqsServerUrl = `http://${HOST}:${(sqsServer.address() as AddressInfo).port}`;
  // Nothing reaches local-aws-sqs but through an identity proxy: this one for the stack's own clients.
  const sqsProxy = await startAwsProxy('sqs', sqsServerUrl, { guard: sqsIdentity });
  closers.push(() => sqsProxy.close());
  const sqsUrl = sqsProxy.url;

  const secrets = await startSecretsManager({ port: 0, region: REGION, credentials: 'any' });
  closers.push(() => secrets.close());
  const databricks = await startDatabricksWorkspace(options.databricks ?? {});
  closers.push(() => databricks.close());
  // The EKS cluster: the handlers authenticate with EKS tokens presigned with their AWS credentials, as on Lambda.
  const kubernetes = await startKubernetesApi({
    port: 0,
    clusterName: CLUSTER_NAME,
    acceptEksTokens: { region: REGION, credentials: knownKeys, accountId: ACCOUNT_ID },
  });
  closers.push(() => kubernetes.close());
  const sts = await startSts({ port: 0, region: REGION, accountId: ACCOUNT_ID, credentials: knownKeys });
  closers.push(() => sts.close());
  // The connector's own service principal (OIDC Model 1), chosen by the operator (DATABRICKS_CLIENT_ID), never by a
  // task: it trusts the connector's projected ServiceAccount token and the functions' role via STS.
  const connectorClientId = randomUUID();
  databricks.addServicePrincipal({
    applicationId: connectorClientId,
    displayName: 'flyte-connector',
    federationPolicies: [
      { issuer: kubernetes.issuer, audiences: [OIDC_AUDIENCE], subject: CONNECTOR_SUBJECT },
      { issuer: sts.issuer, audiences: [OIDC_AUDIENCE], subject: functionRoleArn },
    ],
  });

  const dynamodb = new DynamoDBClient({ region: REGION, endpoint: dynamoUrl, credentials });
  const sqs = new SQSClient({ region: REGION, endpoint: sqsUrl, credentials });
  const sqsClients: SQSClient[] = [];
  const sqsAs = (keys: AccessKeyPair): SQSClient => {
    const client = new SQSClient({
      region: REGION,
      endpoint: sqsUrl,
      credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
    });
    sqsClients.push(client);
    return client;
  };
  closers.push(async () => {
    for (const client of sqsClients.splice(0)) client.destroy();
  });
  await createJobsTable(dynamodb, TABLE_NAME);
  await createWorkspaceBudgetTable(dynamodb, BUDGET_TABLE_NAME);
  const maxReceiveCount = options.maxReceiveCount ?? 3;
  const functionTimeoutSeconds = options.functionTimeoutSeconds ?? FUNCTION_TIMEOUT_SECONDS;
  const queues = await createQueues(sqs, maxReceiveCount, options.visibilityTimeoutSeconds ?? functionTimeoutSeconds);

  const plan = options.faultPlan;
  let handlerDynamoUrl = dynamoUrl;
  let handlerSqsUrl = sqsUrl;
  const awsRequests: AwsRequestCounts = { dynamodb: {}, sqs: {}, budgetLedger: {} };
  if (plan || options.countAwsRequests) {
    const counter = (service: keyof AwsRequestCounts) => (operation: string) => {
      awsRequests[service][operation] = (awsRequests[service][operation] ?? 0) + 1;
    };
    const countDynamo = counter('dynamodb');
    const countLedger = counter('budgetLedger');
    const dynamoProxy = await startAwsProxy('dynamodb', dynamoUrl, {
      plan,
      observe: (operation, body) => (body.includes(`"${BUDGET_TABLE_NAME}"`) ? countLedger : countDynamo)(operation),
    });
    closers.push(() => dynamoProxy.close());
    // The handlers' own SQS proxy (same identity checks, plus faults and counting), so only their requests count.
    const handlerSqsProxy = await startAwsProxy('sqs', sqsServerUrl, {
      plan,
      observe: counter('sqs'),
      guard: sqsIdentity,
    });
    closers.push(() => handlerSqsProxy.close());
    handlerDynamoUrl = dynamoProxy.url;
    handlerSqsUrl = handlerSqsProxy.url;
  }
  if (plan) {
    const stopFeeding = feedEmulatorFaults({ databricks, kubernetes, sts }, plan);
    closers.push(async () => stopFeeding());
  }

  const env: Record<string, string> = {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: handlerDynamoUrl,
    AWS_ENDPOINT_URL_SQS: handlerSqsUrl,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    AWS_ENDPOINT_URL_STS: sts.url,
    KUBERNETES_API_URL: kubernetes.url,
    EKS_CLUSTER_NAME: CLUSTER_NAME,
    JOBS_TABLE_NAME: TABLE_NAME,
    WORKSPACE_BUDGET_TABLE_NAME: BUDGET_TABLE_NAME,
    // The SQS client sends to the queue URL's host (useQueueUrlAsEndpoint), so with a fault proxy the URLs name it.
    SUBMIT_QUEUE_URL: viaEndpoint(queues.submit, handlerSqsUrl),
    POLL_QUEUE_URL: viaEndpoint(queues.poll, handlerSqsUrl),
    CANCEL_QUEUE_URL: viaEndpoint(queues.cancel, handlerSqsUrl),
    FLYTE_DATABRICKS_INSTANCE: databricks.url,
    // The stack's trust bindings, declared here as an operator declares them (infra/example.context.json): the
    // workspace jobs may use, the namespaces it is bound to, and who may use which namespace (the local caller, by
    // ARN at the front door and by principal id as a queue producer).
    ALLOWED_DATABRICKS_HOSTS: [new URL(databricks.url).host, ...(options.extraAllowedHosts ?? [])].join(','),
    DATABRICKS_CLIENT_ID: connectorClientId,
    // Tasks may name Model 1 token files only in the stack's scratch folder (where its tenants' files are written).
    OIDC_TOKEN_FILE_DIRS: scratchDir,
    NAMESPACE_WORKSPACES: JSON.stringify({ '*': [new URL(databricks.url).host] }),
    // A front door without SigV4 identifies no caller, so such a stack can only be an explicitly open one.
    ...((options.sigv4 ?? true)
      ? {
          CALLER_NAMESPACES: JSON.stringify(
            (options.callerNamespaces ?? defaultCallerNamespaces)({ callerArn, callerPrincipalId, functionRoleArn }),
          ),
        }
      : { INSECURE_ANY_CALLER_ANY_NAMESPACE: 'true' }),
    ALLOW_INSECURE_LOOPBACK_DATABRICKS: 'true',
    MAX_RECEIVE_COUNT: String(maxReceiveCount),
    POLL_INTERVAL_MIN_SECONDS: String(options.pollIntervalSeconds?.min ?? 1),
    POLL_INTERVAL_MAX_SECONDS: String(options.pollIntervalSeconds?.max ?? 2),
    ...options.env,
  };
  Object.assign(process.env, env);

  // Loaded only now: the handlers read their configuration from the environment on first use.
  const [api, submit, poll, cancel, sweep] = await Promise.all([
    import('../../functions/api/handler.js'),
    import('../../functions/submit/handler.js'),
    import('../../functions/poll/handler.js'),
    import('../../functions/cancel/handler.js'),
    import('../../functions/sweep/handler.js'),
  ]);

  const timeoutMs = functionTimeoutSeconds * 1000;
  const sources: SqsEventSource[] = [];
  /** Per function, how many of its invocations timed out (read live). */
  const timeoutCounters: Record<string, () => number> = {};
  for (const [name, queueUrl, handler] of [
    ['submit', queues.submit, submit.handler],
    ['poll', queues.poll, poll.handler],
    ['cancel', queues.cancel, cancel.handler],
  ] as const) {
    const source = startSqsEventSource({
      sqs,
      queueUrl,
      region: REGION,
      handler,
      functionName: `flyte-databricks-${name}`,
      batchSize: 10,
      functionTimeoutMs: timeoutMs,
      concurrency: options.eventSourceConcurrency ?? 2,
      ...(plan ? { killAfterMs: () => plan.killAfterMs() } : {}),
      onError: reportRuntimeError,
    });
    sources.push(source);
    timeoutCounters[`flyte-databricks-${name}`] = () => source.timeouts;
    closers.push(() => source.stop());
  }

  let sweepTimeouts = 0;
  timeoutCounters['flyte-databricks-sweep'] = () => sweepTimeouts;
  closers.push(
    startSweepSchedule(sweep.handler, options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS, timeoutMs, () => {
      sweepTimeouts += 1;
    }),
  );

  const sigv4 = options.sigv4 ?? true;
  const frontDoorCalls: FrontDoorCall[] = [];
  let apiTimeouts = 0;
  timeoutCounters['flyte-databricks-api'] = () => apiTimeouts;
  // Records what the function is invoked with (after API Gateway authorized the request), then runs it.
  const recordingHandler: ApiGatewayLambdaHandler = (event: APIGatewayProxyEvent, context) => {
    frontDoorCalls.push({
      method: event.httpMethod,
      path: event.path,
      resource: event.resource,
      identity: event.requestContext.identity,
    });
    if (frontDoorCalls.length > MAX_RECORDED_CALLS) frontDoorCalls.shift();
    return api.handler(event, context);
  };
  const frontDoor = await startFrontDoor({
    port: options.port ?? 0,
    host: HOST,
    region: REGION,
    accountId: ACCOUNT_ID,
    handler: recordingHandler,
    ...(sigv4 ? { identity: sigV4Authorization({ region: REGION, callers: apiCallers }) } : {}),
    functionName: 'flyte-databricks-api',
    resolveResource: [
      'POST /v1/jobs',
      'GET /v1/jobs',
      'GET /v1/jobs/{id}',
      'DELETE /v1/jobs/{id}',
      'GET /v1/openapi.json',
    ],
    onError: (error) => {
      if (error instanceof LambdaTimeoutError) apiTimeouts += 1;
      reportRuntimeError(error, 'invoke');
    },
  });
  closers.push(() => frontDoor.close());

  return {
    frontDoorUrl: frontDoor.url,
    region: REGION,
    sigv4,
    callerCredentials,
    callerArn,
    callerPrincipalId,
    apiCallers,
    frontDoorCalls,
    databricks,
    secrets,
    kubernetes,
    sts,
    functionRoleArn,
    connectorClientId,
    functionRoleId,
    scratchDir,
    dynamodb,
    sqs,
    sqsAs,
    tableName: TABLE_NAME,
    queues,
    env,
    awsRequests,
    lambdaTimeouts: () => Object.fromEntries(Object.entries(timeoutCounters).map(([name, count]) => [name, count()])),
    drain: async (drainTimeoutMs = 30_000) => {
      // In flow order (submit feeds poll, nothing feeds submit), so a queue seen empty stays empty.
      for (const source of sources) await source.drain({ timeoutMs: drainTimeoutMs });
    },
    stop: () => closeAll(closers),
  };
}

/**
 * Invokes the sweeper every `intervalMs` with the event an EventBridge schedule rule sends, one run at a time (the
 * next is scheduled when one ends). Returns the closer: no new run, and the one in progress is waited for.
 */
function startSweepSchedule(
  handler: (event: ScheduledEvent, context: Context) => unknown,
  intervalMs: number,
  timeoutMs: number,
  onTimeout: () => void,
): Closer {
  const functionName = 'flyte-databricks-sweep';
  let stopped = false;
  let running: Promise<unknown> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(() => {
      const event = scheduledEvent({ ruleName: `${functionName}-schedule`, region: REGION, accountId: ACCOUNT_ID });
      const context = createLambdaContext({ functionName, timeoutMs, region: REGION, accountId: ACCOUNT_ID });
      // A failed sweep has logged why; the next one tries again, as on AWS.
      running = invokeHandler(handler, event, context, timeoutMs)
        .then((outcome) => {
          if (outcome.status === 'timedOut') onTimeout();
        })
        .finally(() => {
          running = undefined;
          if (!stopped) schedule();
        });
    }, intervalMs);
  };
  schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}

/**
 * Failures of the emulated Lambda runtime. A handler's own failures are already in its structured logs, and
 * the records come back through the queue as on AWS; what is worth a line here is the runtime failing to talk
 * to the queue.
 */
function reportRuntimeError(error: unknown, phase: string): void {
  if (phase === 'invoke' || phase === 'response') return;
  console.error(`[local-stack] ${phase}: ${error instanceof Error ? error.message : String(error)}`);
}

async function closeAll(closers: Closer[]): Promise<void> {
  // Reverse order: stop the consumers before the services they consume.
  for (const close of closers.splice(0).reverse()) {
    await close().catch(() => undefined);
  }
}

/** The queue URL with its origin replaced by `endpoint`'s. */
function viaEndpoint(queueUrl: string, endpoint: string): string {
  const url = new URL(queueUrl);
  const target = new URL(endpoint);
  url.host = target.host;
  return url.toString();
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** An IAM-user-shaped key pair (AKIA + 16, 40-character secret): dummy values for the local front door. */
function generateAccessKeyPair(): AccessKeyPair {
  const accessKeyId = `AKIA${[...randomBytes(16)].map((byte) => ID_ALPHABET[byte % 32]).join('')}`;
  const secretAccessKey = randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
  return { accessKeyId, secretAccessKey };
}

/** A random IAM unique id: `prefix` (AIDA for a user, AROA for a role) + 17 upper-case base32 characters. */
function generateUniqueId(prefix: 'AIDA' | 'AROA'): string {
  return prefix + [...randomBytes(17)].map((byte) => ID_ALPHABET[byte % 32]).join('');
}

/** A caller's IAM unique id: its own, or the stable one the front door derives from its ARN (a role's, no session). */
function principalIdOf(caller: ApiCaller): string {
  if (caller.principalId) return caller.principalId;
  const { caller: id = '' } = callerIdentity(caller.accessKeyId, caller.principalArn);
  return (id ?? '').split(':')[0] ?? '';
}

async function createQueues(sqs: SQSClient, maxReceiveCount: number, visibilitySeconds: number): Promise<QueueUrls> {
  const create = async (name: string, attributes: Record<string, string> = {}) => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
    return QueueUrl;
  };
  const arnOf = async (url: string) => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    return Attributes?.QueueArn ?? '';
  };
  const withDlq = async (name: string) => {
    const dlq = await create(`${name}-dlq`, { MessageRetentionPeriod: '1209600' });
    const queue = await create(name, {
      VisibilityTimeout: String(visibilitySeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlq), maxReceiveCount }),
    });
    return [queue, dlq] as const;
  };
  const [submit, submitDlq] = await withDlq('flyte-databricks-submit');
  const [poll, pollDlq] = await withDlq('flyte-databricks-poll');
  const [cancel, cancelDlq] = await withDlq('flyte-databricks-cancel');
  return { submit, poll, cancel, submitDlq, pollDlq, cancelDlq };
}
