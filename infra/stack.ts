/**
 * The production stack: jobs table, submit/poll/cancel queues with their DLQs, the five functions (the sweeper on
 * a 5-minute schedule), the REST API front door, the alarms and the operations dashboard; X-Ray tracing on the
 * functions and the API stage unless context `tracing` is false. Each function is granted exactly the calls it makes:
 *
 * | function | DynamoDB (table)             | SQS send       | Secrets Manager / optional auth grants            |
 * |----------|------------------------------|----------------|---------------------------------------------------|
 * | api      | GetItem, PutItem, UpdateItem; Query on the byNamespace index | submit, cancel | none                                              |
 * | submit   | GetItem, PutItem, UpdateItem | submit, poll   | GetSecretValue (+ client secret, STS, EKS if set) |
 * | poll     | GetItem, UpdateItem; Query on the liveByWorkspace index | poll | GetSecretValue (+ client secret, STS, EKS if set) |
 * | cancel   | GetItem, UpdateItem          | cancel         | GetSecretValue (+ client secret, STS, EKS if set) |
 * | sweep    | GetItem, UpdateItem; Query on the byLiveness index | submit, poll | none                         |
 *
 * Submit, poll and cancel also update (and read) their workspace's item in the workspace budget table: every
 * Databricks call takes a slot in its workspace's budget (shared/databricks/workspace-call-budget.ts). The consumers
 * receive from their own queue through the SQS event source; submit and cancel also send to their
 * own queue, to defer a record that cannot finish within the invocation (shared/invocation-deadline.ts). Each work queue's resource policy
 * denies SendMessage to everyone but its producers (the senders above; for the submit queue also the direct
 * producers named in callerNamespaces by IAM unique id). Likewise only submit, poll and cancel get the Databricks
 * auth settings in their environment (function-environment.ts). Each function has a role of its own; the three
 * callers' role ARNs are outputs, for Databricks federation policies and EKS access entries.
 */
import { CfnOutput, Duration, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import { type ISecurityGroup, SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct } from 'constructs';
import { FUNCTION_ENTRIES, type FunctionName } from './bundling/function-bundle.js';
import { grantDatabricksCredentials } from './constructs/credential-grants.js';
import { type FunctionNetwork, JobFunction } from './constructs/job-function.js';
import { JobQueue } from './constructs/job-queue.js';
import { JobsApi } from './constructs/jobs-api.js';
import { JobsTable } from './constructs/jobs-table.js';
import { OperationsAlarms } from './constructs/operations-alarms.js';
import { OperationsDashboard } from './constructs/operations-dashboard.js';
import { WorkspaceBudgetTable } from './constructs/workspace-budget-table.js';
import { functionEnvironment } from './function-environment.js';
import { FUNCTION_MEMORY_MB } from './function-memory.js';
import type { StackConfig } from './stack-config.js';

/** Function timeouts; each queue's visibility timeout is derived from its consumer's. */
export const FUNCTION_TIMEOUTS = {
  // API Gateway waits at most 29 s; the api function only writes an item and sends a message.
  api: Duration.seconds(15),
  // Databricks calls retry throttling and gateway errors with backoff (shared/databricks/retry-policy.ts).
  submit: Duration.seconds(90),
  poll: Duration.seconds(60),
  cancel: Duration.seconds(60),
  // DynamoDB and SQS calls only, for at most SWEEP_MAX_JOBS stale jobs.
  sweep: Duration.seconds(60),
} as const;

/** How often the sweeper looks for stale jobs; STALE_AFTER_SECONDS (30 min by default) is what makes one stale. */
export const SWEEP_SCHEDULE = Duration.minutes(5);

export interface FlyteDatabricksStackProps extends StackProps {
  config: StackConfig;
}

export class FlyteDatabricksStack extends Stack {
  readonly jobsTable: JobsTable;
  readonly budgetTable: WorkspaceBudgetTable;
  readonly queues: { submit: JobQueue; poll: JobQueue; cancel: JobQueue };
  readonly functions: {
    api: JobFunction;
    submit: JobFunction;
    poll: JobFunction;
    cancel: JobFunction;
    sweep: JobFunction;
  };
  readonly sweepSchedule: Rule;
  readonly api: JobsApi;
  readonly alarms: OperationsAlarms;
  readonly dashboard: OperationsDashboard;

  constructor(scope: Construct, id: string, props: FlyteDatabricksStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.jobsTable = new JobsTable(this, 'JobsTable', { removalPolicy: config.removalPolicy });
    this.budgetTable = new WorkspaceBudgetTable(this, 'WorkspaceBudgetTable');
    const queue = (name: string, consumer: keyof typeof FUNCTION_TIMEOUTS) =>
      new JobQueue(this, name, {
        consumerTimeout: FUNCTION_TIMEOUTS[consumer],
        maxReceiveCount: config.maxReceiveCount,
      });
    this.queues = {
      submit: queue('SubmitQueue', 'submit'),
      poll: queue('PollQueue', 'poll'),
      cancel: queue('CancelQueue', 'cancel'),
    };

    const names = {
      tableName: this.jobsTable.table.tableName,
      budgetTableName: this.budgetTable.table.tableName,
      submitQueueUrl: this.queues.submit.queue.queueUrl,
      pollQueueUrl: this.queues.poll.queue.queueUrl,
      cancelQueueUrl: this.queues.cancel.queue.queueUrl,
    };
    // The API function accepts jobs and reads no credential: only the Databricks callers get the auth settings
    // (function-environment.ts decides which function gets which variable).
    const network = config.vpcId === undefined ? undefined : this.functionNetwork(config.vpcId, config);
    const fn = (name: FunctionName, description: string) => {
      const logicalId = `${name[0]?.toUpperCase()}${name.slice(1)}Function`;
      return new JobFunction(this, logicalId, {
        entry: FUNCTION_ENTRIES[name],
        logicalId,
        description,
        timeout: FUNCTION_TIMEOUTS[name],
        memorySize: FUNCTION_MEMORY_MB[name],
        environment: functionEnvironment(config, names, name),
        logLevel: config.logLevel,
        logRetentionDays: config.logRetentionDays,
        removalPolicy: config.removalPolicy,
        network,
        tracing: config.tracing,
      });
    };
    this.functions = {
      api: fn('api', 'flyte-databricks-lambda API: POST /v1/jobs, GET and DELETE /v1/jobs/{id}'),
      submit: fn('submit', 'flyte-databricks-lambda: submits Databricks runs from the submit queue'),
      poll: fn('poll', 'flyte-databricks-lambda: polls Databricks runs to the end from the poll queue'),
      cancel: fn('cancel', 'flyte-databricks-lambda: cancels Databricks runs from the cancel queue'),
      sweep: fn('sweep', 'flyte-databricks-lambda: rescues jobs whose poll chain or submit message was lost'),
    };
    const { api, submit, poll, cancel, sweep } = this.functions;

    this.jobsTable.grantItemActions(api, ['GetItem', 'PutItem', 'UpdateItem']);
    this.jobsTable.grantNamespaceQuery(api);
    this.queues.submit.grantSend(api);
    this.queues.cancel.grantSend(api);

    this.jobsTable.grantItemActions(submit, ['GetItem', 'PutItem', 'UpdateItem']);
    this.budgetTable.grantLedger(submit);
    this.queues.submit.grantSend(submit);
    this.queues.poll.grantSend(submit);

    this.jobsTable.grantItemActions(poll, ['GetItem', 'UpdateItem']);
    this.budgetTable.grantLedger(poll);
    this.jobsTable.grantLiveByWorkspaceQuery(poll);
    this.queues.poll.grantSend(poll);

    this.jobsTable.grantItemActions(cancel, ['GetItem', 'UpdateItem']);
    this.budgetTable.grantLedger(cancel);
    this.queues.cancel.grantSend(cancel);

    this.jobsTable.grantItemActions(sweep, ['GetItem', 'UpdateItem']);
    this.jobsTable.grantLivenessQuery(sweep);
    this.queues.submit.grantSend(sweep);
    this.queues.poll.grantSend(sweep);

    // Each work queue's resource policy denies SendMessage to all but these producers (by aws:userid), so no other
    // principal in the account can put work on it, whatever its identity policies allow. Direct producers of jobs
    // are the callerNamespaces keys that are IAM unique ids (AROA… roles, AIDA… users); submit checks each direct
    // submission's sender against the map.
    this.queues.submit.limitSendersTo([api.role, submit.role, sweep.role, ...config.callerPrincipalIds]);
    this.queues.poll.limitSendersTo([submit.role, poll.role, sweep.role]);
    this.queues.cancel.limitSendersTo([api.role, cancel.role]);

    for (const consumer of [submit, poll, cancel]) grantDatabricksCredentials(consumer, config);

    // Records are processed in parallel within a batch, so maxConcurrency × batchSize bounds the Databricks calls
    // in flight per queue: that, not reserved concurrency, is what protects the workspace's API rate limits.
    submit.function.addEventSource(
      new SqsEventSource(this.queues.submit.queue, {
        batchSize: 5,
        reportBatchItemFailures: true,
        maxConcurrency: config.submitMaxConcurrency,
      }),
    );
    poll.function.addEventSource(
      new SqsEventSource(this.queues.poll.queue, {
        batchSize: 10,
        // Polls are already delayed by at least POLL_INTERVAL_MIN_SECONDS; a few more seconds gather fuller batches.
        maxBatchingWindow: Duration.seconds(5),
        reportBatchItemFailures: true,
        maxConcurrency: config.pollMaxConcurrency,
      }),
    );
    cancel.function.addEventSource(
      new SqsEventSource(this.queues.cancel.queue, {
        batchSize: 5,
        reportBatchItemFailures: true,
        maxConcurrency: config.cancelMaxConcurrency,
      }),
    );

    // The sweeper on a schedule (an asynchronous invocation). A sweep is idempotent: a retried or overlapping run
    // rescues no job twice, since every rescue is a version-guarded claim.
    this.sweepSchedule = new Rule(this, 'SweepSchedule', {
      description: 'flyte-databricks-lambda: runs the sweeper, which rescues jobs whose messages were lost',
      schedule: Schedule.rate(SWEEP_SCHEDULE),
      targets: [new LambdaFunction(sweep.function)],
    });

    this.api = new JobsApi(this, 'Api', {
      handler: api.function,
      allowedPrincipalArns: config.apiAllowedPrincipalArns,
      throttleRateLimit: config.apiThrottleRateLimit,
      throttleBurstLimit: config.apiThrottleBurstLimit,
      logRetentionDays: config.logRetentionDays,
      removalPolicy: config.removalPolicy,
      tracingEnabled: config.tracing,
    });

    const deadLetterQueues = {
      Submit: this.queues.submit.deadLetterQueue,
      Poll: this.queues.poll.deadLetterQueue,
      Cancel: this.queues.cancel.deadLetterQueue,
    };
    const functions = {
      Api: api.function,
      Submit: submit.function,
      Poll: poll.function,
      Cancel: cancel.function,
      Sweep: sweep.function,
    };
    this.alarms = new OperationsAlarms(this, 'Alarms', {
      deadLetterQueues,
      functions,
      alarmTopicArn: config.alarmTopicArn,
      alarmEmail: config.alarmEmail,
    });
    this.dashboard = new OperationsDashboard(this, 'Operations', {
      deadLetterQueues,
      functions,
      alarms: this.alarms.alarms,
      workspaceApiBudgetRps: config.workspaceApiBudgetRps,
      workspaceDimension: config.metricsWorkspaceDimension,
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.restApi.url,
      description: 'Base URL of the API stage; jobs are at <ApiUrl>v1/jobs (SigV4, service execute-api)',
    });
    new CfnOutput(this, 'SubmitQueueUrl', {
      value: this.queues.submit.queue.queueUrl,
      description: 'Any producer may SendMessage a job request here (the POST /v1/jobs body)',
    });
    new CfnOutput(this, 'PollQueueUrl', { value: this.queues.poll.queue.queueUrl });
    new CfnOutput(this, 'CancelQueueUrl', { value: this.queues.cancel.queue.queueUrl });
    new CfnOutput(this, 'JobsTableName', { value: this.jobsTable.table.tableName });
    new CfnOutput(this, 'DashboardName', {
      value: this.dashboard.dashboard.dashboardName,
      description: 'The CloudWatch dashboard of jobs, Databricks calls, queues and functions (README, "Operations")',
    });
    // Each Databricks caller has a role of its own. OIDC Model 1 (STS): the Databricks federation policy's subject
    // is the role ARN, so the service principal needs one policy per role. Model 2 / Kubernetes secrets: one EKS
    // access entry per role. See infra/README.md, "Auth modes in AWS".
    const callers = { Submit: submit, Poll: poll, Cancel: cancel };
    for (const [name, fn] of Object.entries(callers)) {
      new CfnOutput(this, `${name}FunctionRoleArn`, {
        value: fn.role.roleArn,
        description: `Role of the ${name.toLowerCase()} function: a Databricks federation policy subject (OIDC Model 1) and an EKS access entry principal (Model 2)`,
      });
    }
  }

  /** The functions' subnets and security groups (private EKS endpoints). No lookups: synth stays offline. */
  private functionNetwork(vpcId: string, config: StackConfig): FunctionNetwork {
    const vpc = Vpc.fromVpcAttributes(this, 'Vpc', { vpcId, availabilityZones: Fn.getAzs() });
    const subnets = config.subnetIds.map((subnetId) => Subnet.fromSubnetId(this, `Subnet-${subnetId}`, subnetId));
    const securityGroups: ISecurityGroup[] =
      config.securityGroupIds.length > 0
        ? config.securityGroupIds.map((sg) => SecurityGroup.fromSecurityGroupId(this, `SecurityGroup-${sg}`, sg))
        : [
            new SecurityGroup(this, 'FunctionSecurityGroup', {
              vpc,
              description: 'flyte-databricks-lambda functions: no inbound; outbound HTTPS to Databricks, EKS and AWS',
              allowAllOutbound: true,
            }),
          ];
    return { vpc, subnets, securityGroups };
  }
}
