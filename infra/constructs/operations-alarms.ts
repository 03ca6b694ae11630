/**
 * The alarms an operator must act on, each with its runbook line as its description (the README's "Operations"
 * section lists them): a message in any DLQ (a job whose work died; the job itself says why), function errors and
 * throttles, the sweeper giving up on a job, Databricks answering 5xx or not at all, and token fetches failing per
 * auth mode. With an SNS topic (given by ARN, or created for an email address) every alarm notifies it.
 *
 * The application alarms watch metrics of shared/metrics/metric-catalog.ts with their exact dimension sets
 * (catalog-metrics.ts). An alarm on metric math may read at most 10 metrics and no SEARCH, which shapes two of them:
 * the error rate is one alarm per Jobs API endpoint (its 6 status classes), and token failures one alarm per auth
 * mode, whose runbooks differ anyway.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, MathExpression, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AUTH_MODES, type AuthMode } from '../../shared/auth/auth-context.js';
import { DATABRICKS_ENDPOINTS, STATUS_CLASSES } from '../../shared/metrics/metric-catalog.js';
import { catalogMetric } from './catalog-metrics.js';

export interface OperationsAlarmsProps {
  deadLetterQueues: Record<string, IQueue>;
  functions: Record<string, IFunction>;
  alarmTopicArn?: string;
  alarmEmail?: string;
}

/** When the Databricks error rate alarm of an endpoint fires. */
export const DATABRICKS_ERROR_RATE_ALARM = {
  /** 5xx and network (no answer) as a share of the endpoint's calls, in percent, above which a period breaches. */
  percent: 10,
  /** Fewer calls in a period do not count: one failed call of two is not an outage. */
  minimumCalls: 10,
  period: Duration.minutes(5),
  /** Consecutive breaching periods: the functions retry and defer through a short blip on their own. */
  evaluationPeriods: 3,
} as const;

/** When a token failures alarm fires: failures in 2 of 3 periods (a single blip is retried at the next poll). */
export const TOKEN_FAILURE_ALARM = { period: Duration.minutes(5), evaluationPeriods: 3, datapointsToAlarm: 2 } as const;

/** What to check when tokens of each auth mode fail (shared/auth/README.md, infra/README.md "Auth modes in AWS"). */
const TOKEN_RUNBOOK: Record<AuthMode, string> = {
  pat:
    "a namespace's PAT could not be read: check its secret (flyte/<namespace>/databricks-token, keys token and " +
    'host) or the fallback secret, and that it is not deleted or scheduled for deletion',
  oauth_m2m:
    'the workspace refused the OAuth client or its secret could not be read: check the namespace databricks-oauth ' +
    'secret (client_id, client_secret, host) or databricksClientSecretSecretId; a rotated client secret is the usual cause',
  oidc_model1_file:
    "the exchange of a task's token file failed: check the file is inside oidcTokenFileDirs and not expired, and the " +
    "service principal's federation policy (issuer, audience, subject)",
  oidc_model1_sts:
    'sts:GetWebIdentityToken or the exchange failed: check outbound identity federation is enabled, oidcAudience, and ' +
    'a federation policy per function role (SubmitFunctionRoleArn, PollFunctionRoleArn, CancelFunctionRoleArn)',
  oidc_model2:
    'the Kubernetes TokenRequest or the exchange failed: check the three roles’ EKS access entries and RBAC ' +
    "(serviceaccounts/token create), the ServiceAccount's annotations and its service principal's federation policy",
};

interface AlarmOptions {
  threshold?: number;
  evaluationPeriods?: number;
  datapointsToAlarm?: number;
}

export class OperationsAlarms extends Construct {
  readonly alarms: Alarm[] = [];
  readonly topic?: ITopic;

  constructor(scope: Construct, id: string, props: OperationsAlarmsProps) {
    super(scope, id);
    this.topic = props.alarmTopicArn
      ? Topic.fromTopicArn(this, 'Topic', props.alarmTopicArn)
      : props.alarmEmail
        ? this.createTopic(props.alarmEmail)
        : undefined;

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.add(
        `${name}DeadLetters`,
        `A ${name.toLowerCase()} message failed every receive and is in its DLQ; the job it names was already ended ` +
          `with the reason (RETRYABLE_FAILED or FAILED). Read the ${name.toLowerCase()} function's logs for that job ` +
          'id, fix the cause, then purge the DLQ: a redrive is refused by the queue policy, so submit the job again ' +
          '(a new executionId) if it must run.',
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      );
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      this.add(
        `${name}Errors`,
        `The ${name.toLowerCase()} function failed invocations (not single failed records, which are retried): read ` +
          'its log group for the error (configuration it cannot parse, a timeout, a failed rescue for the sweeper) ' +
          'and fix it; records keep being retried until their DLQ.',
        fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      );
      this.add(
        `${name}Throttles`,
        `The ${name.toLowerCase()} function was throttled: the account's Lambda concurrency is exhausted. Find what ` +
          'uses it (ConcurrentExecutions by function), raise the concurrency quota, or lower the max concurrency ' +
          'context settings; queued records wait meanwhile.',
        fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
      );
    }

    this.add(
      'SweeperGiveUps',
      'The sweeper gave up on a job: found stale again after its last rescue (MAX_RESCUES), it was ended ' +
        "RETRYABLE_FAILED (Flyte may retry the task). Find the job id in the sweep function's logs, follow it in the " +
        'submit and poll logs to why its messages keep being lost (function errors, DLQs, Databricks errors) and fix that.',
      catalogMetric('SweeperGiveUps', {}, { statistic: 'Sum', period: Duration.minutes(5) }),
    );

    const rate = DATABRICKS_ERROR_RATE_ALARM;
    for (const endpoint of DATABRICKS_ENDPOINTS) {
      const calls = Object.fromEntries(
        STATUS_CLASSES.map((statusClass) => [
          `c_${statusClass}`,
          catalogMetric(
            'DatabricksCalls',
            { Endpoint: endpoint, StatusClass: statusClass },
            {
              statistic: 'Sum',
              period: rate.period,
            },
          ),
        ]),
      );
      const all = Object.keys(calls)
        .map((name) => `FILL(${name},0)`)
        .join('+');
      this.add(
        `DatabricksErrorRate${pascal(endpoint)}`,
        `More than ${rate.percent}% of ${endpoint} calls got a 5xx or no answer (network) in ${rate.evaluationPeriods} ` +
          `periods of ${rate.period.toMinutes()} minutes in a row (at least ${rate.minimumCalls} calls each). Check ` +
          "the workspace's status and the dashboard's Databricks widgets; 5xx: Databricks is failing, jobs wait " +
          '(deferred, workspace-unhealthy) and resume on their own; network: check DNS, NAT and security groups of ' +
          'the functions, and allowedDatabricksHosts.',
        new MathExpression({
          expression: `IF((${all}) >= ${rate.minimumCalls}, 100*(FILL(c_5xx,0)+FILL(c_network,0))/(${all}), 0)`,
          usingMetrics: calls,
          label: `${endpoint} 5xx + network (% of calls)`,
          period: rate.period,
        }),
        { threshold: rate.percent, evaluationPeriods: rate.evaluationPeriods },
      );
    }

    for (const mode of AUTH_MODES) {
      this.add(
        `TokenFailures${pascal(mode)}`,
        `Token fetches for auth mode ${mode} failed in ${TOKEN_FAILURE_ALARM.datapointsToAlarm} of ` +
          `${TOKEN_FAILURE_ALARM.evaluationPeriods} periods of ${TOKEN_FAILURE_ALARM.period.toMinutes()} minutes: ` +
          `${TOKEN_RUNBOOK[mode]}. The submit, poll and cancel logs name the namespace and the reason.`,
        catalogMetric('TokenFailures', { AuthMode: mode }, { statistic: 'Sum', period: TOKEN_FAILURE_ALARM.period }),
        {
          evaluationPeriods: TOKEN_FAILURE_ALARM.evaluationPeriods,
          datapointsToAlarm: TOKEN_FAILURE_ALARM.datapointsToAlarm,
        },
      );
    }
  }

  /** An alarm on `metric` above `threshold` (default: anything above 0), missing data not breaching. */
  private add(id: string, description: string, metric: IMetric, options: AlarmOptions = {}): void {
    const alarm = new Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold: options.threshold ?? 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.datapointsToAlarm,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (this.topic) alarm.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }

  /** An encrypted, TLS-only topic with the email subscribed; CloudWatch may use the key to publish to it. */
  private createTopic(email: string): Topic {
    const account = Stack.of(this).account;
    const key = new Key(this, 'TopicKey', {
      description: 'flyte-databricks-lambda alarm topic',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    const topic = new Topic(this, 'Topic', { masterKey: key, enforceSSL: true });
    topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    topic.addSubscription(new EmailSubscription(email));
    return topic;
  }
}

/** `runs/get-output` -> `RunsGetOutput`, `oidc_model1_sts` -> `OidcModel1Sts`: a construct id part. */
function pascal(value: string): string {
  return value
    .split(/[^A-Za-z0-9]+/)
    .map((part) => `${part.charAt(0).toUpperCase()}${part.slice(1)}`)
    .join('');
}
