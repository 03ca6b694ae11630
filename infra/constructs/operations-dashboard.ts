/**
 * The operators' CloudWatch dashboard: how jobs flow and end, how Databricks answers, the queues, the sweeper, the
 * tokens and the functions, at a glance. Every custom metric comes from shared/metrics/metric-catalog.ts with its
 * exact dimension set (catalog-metrics.ts), so a renamed metric breaks the build, not the dashboard. The README's
 * "Operations" section says what each widget means and what to do.
 *
 * Rates are per second whatever period the console picks for the time range: a count per period divided by
 * PERIOD() of a metric in the same widget.
 */
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Color,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IMetric,
  MathExpression,
  type Metric,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AUTH_MODES } from '../../shared/auth/auth-context.js';
import {
  DATABRICKS_ENDPOINTS,
  DEFERRAL_REASONS,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  STATUS_CLASSES,
  type StatusClass,
  TERMINAL_PHASES,
} from '../../shared/metrics/metric-catalog.js';
import { catalogMetric, catalogSchema, coldStartMetric } from './catalog-metrics.js';

export interface OperationsDashboardProps {
  /** The functions by display name (Api, Submit, ...). */
  functions: Record<string, IFunction>;
  /** The dead-letter queues by display name (Submit, Poll, Cancel). */
  deadLetterQueues: Record<string, IQueue>;
  /** Shown at a glance, above the graphs. */
  alarms: IAlarm[];
  /** WORKSPACE_API_BUDGET_RPS: the per-workspace budget line (none when 0: no budget). */
  workspaceApiBudgetRps: number;
  /** METRICS_WORKSPACE_DIMENSION: WorkspaceCalls is emitted, so calls can be shown per workspace. */
  workspaceDimension: boolean;
}

/** Counts of Databricks calls and queue depths: short enough to see a burst against the budget. */
const FINE = Duration.minutes(1);
/** Everything else. */
const COARSE = Duration.minutes(5);

/** A metric math id (`[a-z][A-Za-z0-9_]*`) from catalog values such as `runs/get-output` or `2xx`. */
const id = (...parts: string[]) => parts.map((part) => part.toLowerCase().replace(/[^a-z0-9]+/g, '_')).join('_');
/** `FILL(a,0)+FILL(b,0)+...`: a missing data point counts as none, so a sum never drops a period. */
const filledSum = (ids: readonly string[]) => ids.map((name) => `FILL(${name},0)`).join('+');

export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id_: string, props: OperationsDashboardProps) {
    super(scope, id_);
    // Dashboard names are global to the account: the region keeps two regions' copies of the stack apart.
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-${Aws.REGION}-operations`,
      start: '-PT3H',
    });

    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          `# flyte-databricks-lambda\nMetrics in namespace \`${METRICS_NAMESPACE}\`, service \`${METRICS_SERVICE}\` ` +
          '(shared/metrics/metric-catalog.ts). What each widget and alarm means and what to do: README.md, ' +
          '"Operations". Rates are per second; counts are per period.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 4 }));
    this.dashboard.addWidgets(this.jobsFlow(), this.jobsEnded());
    this.dashboard.addWidgets(this.successRate(), this.detectionLag(), this.deadLetters(props.deadLetterQueues));
    this.dashboard.addWidgets(this.callsByStatusClass(), this.callShares());
    this.dashboard.addWidgets(this.callsAgainstBudget(props), this.retryAfterWaits());
    this.dashboard.addWidgets(this.deferrals(), this.sweeper());
    this.dashboard.addWidgets(this.tokens('TokenRequests'), this.tokens('TokenFailures'));
    this.dashboard.addWidgets(...this.functionHealth(props.functions));
  }

  /** Jobs accepted (stored QUEUED) and submitted (a run id recorded), all auth modes together. */
  private jobsFlow(): GraphWidget {
    const submitted = Object.fromEntries(
      AUTH_MODES.map((mode) => [
        id('submitted', mode),
        catalogMetric('JobsSubmitted', { AuthMode: mode }, { statistic: 'Sum', period: COARSE }),
      ]),
    );
    return graph('Jobs accepted and submitted (per period)', 12, {
      left: [
        catalogMetric('JobsAccepted', {}, { statistic: 'Sum', period: COARSE, label: 'accepted' }),
        new MathExpression({
          expression: filledSum(Object.keys(submitted)),
          usingMetrics: submitted,
          label: 'submitted',
          period: COARSE,
        }),
      ],
    });
  }

  private jobsEnded(): GraphWidget {
    return graph('Jobs ended by phase (per period)', 12, {
      left: TERMINAL_PHASES.map((phase) =>
        catalogMetric(
          'JobsEnded',
          { Phase: phase },
          { statistic: 'Sum', period: COARSE, label: phase, color: PHASE_COLORS[phase] },
        ),
      ),
      stacked: true,
    });
  }

  /** SUCCEEDED as a share of every job that ended. */
  private successRate(): GraphWidget {
    const ended = Object.fromEntries(
      TERMINAL_PHASES.map((phase) => [
        id('ended', phase),
        catalogMetric('JobsEnded', { Phase: phase }, { statistic: 'Sum', period: COARSE }),
      ]),
    );
    return graph('Success rate (% of jobs ended)', 8, {
      left: [
        new MathExpression({
          expression: `100*FILL(${id('ended', 'SUCCEEDED')},0)/(${filledSum(Object.keys(ended))})`,
          usingMetrics: ended,
          label: 'SUCCEEDED / ended',
          period: COARSE,
          color: Color.GREEN,
        }),
      ],
      leftYAxis: { min: 0, max: 100, showUnits: false, label: '%' },
    });
  }

  /** From a run's end in Databricks to the job's terminal write. */
  private detectionLag(): GraphWidget {
    const lag = (statistic: string, label: string) =>
      catalogMetric('DetectionLag', {}, { statistic, period: COARSE, label });
    return graph('Detection lag (s)', 8, {
      left: [lag('p50', 'p50'), lag('p90', 'p90'), lag('Maximum', 'max')],
      leftYAxis: { min: 0, showUnits: false, label: 's' },
    });
  }

  private deadLetters(queues: Record<string, IQueue>): GraphWidget {
    return graph('DLQ depth (messages)', 8, {
      left: Object.entries(queues).map(([name, queue]) =>
        queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: FINE, label: name }),
      ),
      leftYAxis: { min: 0, showUnits: false },
    });
  }

  /** Every Jobs API attempt, all endpoints together, per answer class. */
  private callsByStatusClass(): GraphWidget {
    const calls = databricksCalls(FINE);
    const reference = referenceId();
    return graph('Databricks calls/s by status class', 12, {
      left: STATUS_CLASSES.map(
        (statusClass) =>
          new MathExpression({
            expression: `(${filledSum(callIds({ statusClass }))})/PERIOD(${reference})`,
            usingMetrics: callsOf(calls, { statusClass }),
            label: statusClass,
            period: FINE,
            color: STATUS_COLORS[statusClass],
          }),
      ),
      leftYAxis: { min: 0, showUnits: false, label: 'calls/s' },
      stacked: true,
    });
  }

  /** 429s (the workspace's rate limit) and 5xx or no answer, as shares of every call. */
  private callShares(): GraphWidget {
    const calls = databricksCalls(COARSE);
    const all = filledSum(callIds({}));
    const share = (label: string, classes: readonly StatusClass[], color: string) =>
      new MathExpression({
        expression: `100*(${filledSum(classes.flatMap((statusClass) => callIds({ statusClass })))})/(${all})`,
        usingMetrics: calls,
        label,
        period: COARSE,
        color,
      });
    return graph('Databricks 429 and error share (% of calls)', 12, {
      left: [share('429', ['429'], Color.ORANGE), share('5xx + network', ['5xx', 'network'], Color.RED)],
      leftYAxis: { min: 0, showUnits: false, label: '%' },
    });
  }

  /**
   * Calls a second against WORKSPACE_API_BUDGET_RPS. Per workspace (a Metrics Insights query over WorkspaceCalls,
   * grouped by host) when METRICS_WORKSPACE_DIMENSION is on; else all workspaces together, which is the one
   * workspace's rate when there is one. Token requests share the budget but are not Jobs API calls: the line is the
   * Jobs API's part of it.
   */
  private callsAgainstBudget(props: OperationsDashboardProps): GraphWidget {
    const calls = databricksCalls(FINE);
    const reference = referenceId();
    const total = new MathExpression({
      expression: `(${filledSum(callIds({}))})/PERIOD(${reference})`,
      usingMetrics: calls,
      label: 'all workspaces',
      period: FINE,
    });
    const perWorkspace = new MathExpression({
      expression: `workspaces/PERIOD(${reference})`,
      usingMetrics: {
        workspaces: new MathExpression({
          expression:
            `SELECT SUM(WorkspaceCalls) FROM ${catalogSchema('WorkspaceCalls')} ` +
            `WHERE service = '${METRICS_SERVICE}' GROUP BY Workspace`,
          period: FINE,
        }),
        [reference]: calls[reference] as Metric,
      },
      label: '',
      period: FINE,
    });
    const budget = props.workspaceApiBudgetRps;
    return graph(
      props.workspaceDimension
        ? 'Databricks Jobs API calls/s per workspace vs budget'
        : 'Databricks Jobs API calls/s (all workspaces) vs per-workspace budget',
      12,
      {
        left: [props.workspaceDimension ? perWorkspace : total],
        leftAnnotations:
          budget > 0 ? [{ value: budget, label: `budget ${budget} calls/s per workspace`, color: Color.RED }] : [],
        leftYAxis: { min: 0, showUnits: false, label: 'calls/s' },
      },
    );
  }

  private retryAfterWaits(): GraphWidget {
    const wait = (statistic: string, label: string) =>
      catalogMetric('RetryAfterWait', {}, { statistic, period: COARSE, label });
    return graph('Retry-After waits (ms)', 12, {
      left: [wait('p90', 'p90'), wait('Maximum', 'max')],
      right: [wait('SampleCount', 'waits (per period)')],
      leftYAxis: { min: 0, showUnits: false, label: 'ms' },
      rightYAxis: { min: 0, showUnits: false, label: 'count' },
    });
  }

  /** Records put back for later, by why, and polls sent on to their paced slot without calling Databricks. */
  private deferrals(): GraphWidget {
    return graph('Deferrals by reason and polls paced (per period)', 12, {
      left: DEFERRAL_REASONS.map((reason) =>
        catalogMetric('Deferrals', { Reason: reason }, { statistic: 'Sum', period: COARSE, label: reason }),
      ),
      right: [catalogMetric('PollsPaced', {}, { statistic: 'Sum', period: COARSE, label: 'polls paced' })],
      leftYAxis: { min: 0, showUnits: false, label: 'deferrals' },
      rightYAxis: { min: 0, showUnits: false, label: 'polls paced' },
    });
  }

  private sweeper(): GraphWidget {
    return graph('Sweeper rescues and give-ups (per period)', 12, {
      left: [
        catalogMetric('SweeperRescues', {}, { statistic: 'Sum', period: COARSE, label: 'rescues' }),
        catalogMetric('SweeperGiveUps', {}, { statistic: 'Sum', period: COARSE, label: 'give-ups', color: Color.RED }),
      ],
      leftYAxis: { min: 0, showUnits: false },
    });
  }

  private tokens(name: 'TokenRequests' | 'TokenFailures'): GraphWidget {
    return graph(
      name === 'TokenRequests'
        ? 'Token requests by auth mode (per period)'
        : 'Token failures by auth mode (per period)',
      12,
      {
        left: AUTH_MODES.map((mode) =>
          catalogMetric(name, { AuthMode: mode }, { statistic: 'Sum', period: COARSE, label: mode }),
        ),
        leftYAxis: { min: 0, showUnits: false },
      },
    );
  }

  /** Lambda's own metrics per function, and Powertools' ColdStart. */
  private functionHealth(functions: Record<string, IFunction>): GraphWidget[] {
    const each = (metric: (name: string, fn: IFunction) => IMetric) =>
      Object.entries(functions).map(([name, fn]) => metric(name, fn));
    return [
      graph('Function errors', 6, {
        left: each((label, fn) => fn.metricErrors({ statistic: 'Sum', period: COARSE, label })),
        leftYAxis: { min: 0, showUnits: false },
      }),
      graph('Function throttles', 6, {
        left: each((label, fn) => fn.metricThrottles({ statistic: 'Sum', period: COARSE, label })),
        leftYAxis: { min: 0, showUnits: false },
      }),
      graph('Function duration p90 (ms)', 6, {
        left: each((label, fn) => fn.metricDuration({ statistic: 'p90', period: COARSE, label })),
        leftYAxis: { min: 0, showUnits: false, label: 'ms' },
      }),
      graph('Cold starts (per period)', 6, {
        left: each((label, fn) => coldStartMetric(fn.functionName, { statistic: 'Sum', period: COARSE, label })),
        leftYAxis: { min: 0, showUnits: false },
      }),
    ];
  }
}

const PHASE_COLORS: Record<(typeof TERMINAL_PHASES)[number], string> = {
  SUCCEEDED: Color.GREEN,
  FAILED: Color.RED,
  RETRYABLE_FAILED: Color.ORANGE,
  ABORTED: Color.GREY,
};

const STATUS_COLORS: Record<StatusClass, string> = {
  '2xx': Color.GREEN,
  '3xx': Color.BLUE,
  '4xx': Color.PURPLE,
  '429': Color.ORANGE,
  '5xx': Color.RED,
  network: Color.BROWN,
};

type GraphProps = ConstructorParameters<typeof GraphWidget>[0];

function graph(title: string, width: number, props: Omit<GraphProps, 'title' | 'width'>): GraphWidget {
  return new GraphWidget({ title, width, height: 6, ...props });
}

/** DatabricksCalls of every endpoint and status class, by metric math id (`runs_get_5xx`). */
function databricksCalls(period: Duration): Record<string, IMetric> {
  return Object.fromEntries(
    DATABRICKS_ENDPOINTS.flatMap((endpoint) =>
      STATUS_CLASSES.map((statusClass) => [
        id(endpoint, statusClass),
        catalogMetric(
          'DatabricksCalls',
          { Endpoint: endpoint, StatusClass: statusClass },
          { statistic: 'Sum', period },
        ),
      ]),
    ),
  );
}

/** The ids of databricksCalls() for one status class, or all. */
function callIds(filter: { statusClass?: StatusClass }): string[] {
  return DATABRICKS_ENDPOINTS.flatMap((endpoint) =>
    STATUS_CLASSES.filter((statusClass) => filter.statusClass === undefined || statusClass === filter.statusClass).map(
      (statusClass) => id(endpoint, statusClass),
    ),
  );
}

function callsOf(calls: Record<string, IMetric>, filter: { statusClass?: StatusClass }): Record<string, IMetric> {
  const ids = [...callIds(filter), referenceId()];
  return Object.fromEntries(ids.map((name) => [name, calls[name] as IMetric]));
}

/** The metric whose PERIOD() turns a count per period into a rate: runs/get answered 2xx, the most frequent. */
function referenceId(): string {
  return id('runs/get', '2xx');
}
