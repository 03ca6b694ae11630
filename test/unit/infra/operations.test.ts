/**
 * Operability in the stack: the dashboard's metrics are the catalog's (shared/metrics/metric-catalog.ts) with their
 * exact dimension sets, the alarms watch what they say with the thresholds they say, and the `tracing` and
 * `metricsWorkspaceDimension` switches shape the functions, the API stage, the roles and the environment.
 */
import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { COLD_START_METRIC } from '../../../infra/constructs/catalog-metrics.js';
import { DATABRICKS_ERROR_RATE_ALARM, TOKEN_FAILURE_ALARM } from '../../../infra/constructs/operations-alarms.js';
import { OperationsDashboard } from '../../../infra/constructs/operations-dashboard.js';
import { OBSERVABILITY_DEFAULTS, StackConfigError } from '../../../infra/stack-config.js';
import { AUTH_MODES } from '../../../shared/auth/auth-context.js';
import {
  DATABRICKS_ENDPOINTS,
  DIMENSION_VALUES,
  type DimensionName,
  METRICS,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  type MetricName,
  STATUS_CLASSES,
} from '../../../shared/metrics/metric-catalog.js';
import {
  asArray,
  buildStack,
  type CfnResource,
  type Json,
  policyStatements,
  resourcesOf,
  type SynthesizedStack,
  synthStack,
} from './synth-stack.js';

const FUNCTIONS = ['ApiFunction', 'SubmitFunction', 'PollFunction', 'CancelFunction', 'SweepFunction'];
const DATABRICKS_CALLERS = ['SubmitFunction', 'PollFunction', 'CancelFunction'];
const CATALOG_NAMES = Object.keys(METRICS) as MetricName[];

/** A deploy-time value inside the dashboard body, as readable text: `${Ref:SweepFunction}`. */
function placeholder(token: Json): string {
  if (token.Ref !== undefined) return `\${Ref:${token.Ref}}`;
  if (token['Fn::GetAtt'] !== undefined) return `\${GetAtt:${token['Fn::GetAtt'].join('.')}}`;
  return `\${${JSON.stringify(token).replace(/"/g, "'")}}`;
}

/** The dashboard body, its deploy-time values replaced by placeholders. */
function dashboardBody(template: Template): Json {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]?.Properties.DashboardBody;
  const text =
    typeof body === 'string'
      ? body
      : (body['Fn::Join'][1] as Json[]).map((part) => (typeof part === 'string' ? part : placeholder(part))).join('');
  return JSON.parse(text);
}

interface GraphMetric {
  widget: string;
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  options: Json;
}

/** Every metric of every graph widget: `[namespace, name, dim, value, ..., {options}]`. */
function graphMetrics(body: Json): GraphMetric[] {
  return body.widgets.flatMap((widget: Json) =>
    (widget.properties.metrics ?? [])
      .filter((entry: Json[]) => typeof entry[0] === 'string')
      .map((entry: Json[]) => {
        const last = entry.at(-1);
        const options = typeof last === 'object' ? last : {};
        const parts = (typeof last === 'object' ? entry.slice(0, -1) : entry) as string[];
        const [namespace = '', name = '', ...pairs] = parts;
        const dimensions: Record<string, string> = {};
        for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i] as string] = pairs[i + 1] as string;
        return { widget: widget.properties.title, namespace, name, dimensions, options };
      }),
  );
}

/** Every math expression of every graph widget, by widget title. */
function expressions(body: Json): Array<{ widget: string; expression: string; label?: string }> {
  return body.widgets.flatMap((widget: Json) =>
    (widget.properties.metrics ?? [])
      .filter((entry: Json[]) => typeof entry[0] === 'object' && entry[0].expression !== undefined)
      .map((entry: Json[]) => ({ widget: widget.properties.title, ...entry[0] })),
  );
}

const widgetTitled = (body: Json, pattern: RegExp): Json =>
  body.widgets.find((widget: Json) => pattern.test(widget.properties.title ?? ''));

const alarmsOf = (resources: Record<string, CfnResource>) =>
  Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');

/** An alarm's MetricStat queries (a plain alarm is one). */
function alarmMetrics(alarm: Json): Array<{ namespace: string; name: string; dimensions: Record<string, string> }> {
  const stats = alarm.Metrics
    ? alarm.Metrics.filter((m: Json) => m.MetricStat).map((m: Json) => m.MetricStat.Metric)
    : [{ Namespace: alarm.Namespace, MetricName: alarm.MetricName, Dimensions: alarm.Dimensions }];
  return stats.map((m: Json) => ({
    namespace: m.Namespace,
    name: m.MetricName,
    dimensions: Object.fromEntries((m.Dimensions ?? []).map((d: Json) => [d.Name, d.Value])),
  }));
}

let plain: SynthesizedStack;
let plainResources: Record<string, CfnResource>;
let plainBody: Json;
/** Tracing off, the Workspace dimension on, another budget. */
let switched: SynthesizedStack;
let switchedResources: Record<string, CfnResource>;
let switchedBody: Json;

beforeAll(() => {
  plain = synthStack();
  plainResources = resourcesOf(plain.template);
  plainBody = dashboardBody(plain.template);
  switched = synthStack({ tracing: 'false', metricsWorkspaceDimension: true, workspaceApiBudgetRps: 35 });
  switchedResources = resourcesOf(switched.template);
  switchedBody = dashboardBody(switched.template);
}, 120_000);

describe('Construct: OperationsDashboard', () => {
  it('graphs every catalog metric, in its namespace, with exactly its dimension set and service value', () => {
    // Prepare
    const custom = [...graphMetrics(plainBody), ...graphMetrics(switchedBody)].filter(
      (m) => m.namespace === METRICS_NAMESPACE,
    );
    const shown = new Set(custom.map((m) => m.name));

    // Assess: WorkspaceCalls is a Metrics Insights query (below); every other catalog metric is graphed.
    for (const name of CATALOG_NAMES.filter((n) => n !== 'WorkspaceCalls')) expect(shown, name).toContain(name);
    for (const metric of custom) {
      const expected: readonly string[] =
        metric.name === COLD_START_METRIC
          ? ['service', 'function_name']
          : (METRICS[metric.name as MetricName]?.dimensions ?? ['not a catalog metric']);
      expect(Object.keys(metric.dimensions).sort(), `${metric.widget}: ${metric.name}`).toEqual([...expected].sort());
      expect(metric.dimensions.service).toBe(METRICS_SERVICE);
    }
  });

  it('graphs every value of each bounded dimension: phases, endpoints x status classes, auth modes, reasons', () => {
    // Prepare
    const custom = graphMetrics(plainBody).filter((m) => m.namespace === METRICS_NAMESPACE);
    const valuesOf = (name: MetricName, dimension: string) =>
      new Set(custom.filter((m) => m.name === name).map((m) => m.dimensions[dimension]));

    // Assess
    for (const name of CATALOG_NAMES.filter((n) => n !== 'WorkspaceCalls')) {
      const dimensions: readonly DimensionName[] = METRICS[name].dimensions;
      for (const dimension of dimensions) {
        if (dimension === 'service' || dimension === 'Workspace') continue;
        const allowed = DIMENSION_VALUES[dimension];
        expect([...valuesOf(name, dimension)].sort(), `${name} ${dimension}`).toEqual([...allowed].sort());
      }
    }
    const pairs = new Set(
      custom
        .filter((m) => m.name === 'DatabricksCalls')
        .map((m) => `${m.dimensions.Endpoint} ${m.dimensions.StatusClass}`),
    );
    expect(pairs.size).toBe(DATABRICKS_ENDPOINTS.length * STATUS_CLASSES.length);
  });

  it('shows calls per workspace from WorkspaceCalls with its exact schema only when the dimension is switched on', () => {
    // Prepare
    const query = (body: Json) =>
      expressions(body)
        .map((e) => e.expression)
        .filter((e) => e.includes('WorkspaceCalls'));
    const [workspaces] = query(switchedBody);

    // Assess
    expect(query(switchedBody)).toHaveLength(1);
    expect(workspaces).toMatch(/^SELECT SUM\(WorkspaceCalls\) FROM SCHEMA\("FlyteDatabricksLambda", ([^)]*)\)/);
    const schema = /SCHEMA\("[^"]+", ([^)]*)\)/.exec(workspaces ?? '')?.[1]?.split(', ');
    expect(schema?.sort()).toEqual([...METRICS.WorkspaceCalls.dimensions].sort());
    expect(workspaces).toContain(`WHERE service = '${METRICS_SERVICE}' GROUP BY Workspace`);
    expect(query(plainBody)).toEqual([]);
    expect(widgetTitled(plainBody, /calls\/s \(all workspaces\) vs per-workspace budget/)).toBeDefined();
    expect(widgetTitled(switchedBody, /calls\/s per workspace vs budget/)).toBeDefined();
  });

  it('turns call counts into calls per second with PERIOD() and draws the budget at workspaceApiBudgetRps', () => {
    // Prepare
    const budget = (body: Json) =>
      widgetTitled(body, /vs (per-workspace )?budget/)?.properties.annotations?.horizontal?.map((a: Json) => a.value);
    const perSecond = expressions(plainBody).filter((e) => /calls\/s/.test(e.widget));

    // Assess
    expect(budget(plainBody)).toEqual([20]);
    expect(budget(switchedBody)).toEqual([35]);
    expect(perSecond.length).toBe(STATUS_CLASSES.length + 1);
    for (const { expression } of perSecond) expect(expression).toMatch(/\/PERIOD\(runs_get_2xx\)$/);
    const [rate] = expressions(switchedBody).filter((e) => e.widget.includes('per workspace'));
    expect(rate?.expression).toBe('workspaces/PERIOD(runs_get_2xx)');
  });

  it('draws no budget line when the budget is off (workspaceApiBudgetRps 0)', () => {
    // Prepare: the construct alone, on imported functions and queues.
    const stack = new Stack(new App(), 'DashboardOnly');
    const fn = LambdaFunction.fromFunctionName(stack, 'Fn', 'poll');
    const queue = Queue.fromQueueArn(stack, 'Dlq', 'arn:aws:sqs:us-east-1:123456789012:dlq');

    // Act
    new OperationsDashboard(stack, 'Operations', {
      functions: { Poll: fn },
      deadLetterQueues: { Poll: queue },
      alarms: [],
      workspaceApiBudgetRps: 0,
      workspaceDimension: false,
    });

    // Assess
    const body = dashboardBody(Template.fromStack(stack));
    expect(widgetTitled(body, /vs per-workspace budget/)?.properties.annotations).toBeUndefined();
  });

  it('computes the success rate as SUCCEEDED over every job that ended', () => {
    // Prepare
    const [rate] = expressions(plainBody).filter((e) => e.widget.startsWith('Success rate'));

    // Assess
    expect(rate?.expression).toBe(
      '100*FILL(ended_succeeded,0)/(FILL(ended_succeeded,0)+FILL(ended_failed,0)+FILL(ended_retryable_failed,0)+FILL(ended_aborted,0))',
    );
  });

  it('shows detection lag p50/p90/max, DLQ depths, and errors, throttles, p90 duration and cold starts per function', () => {
    // Prepare
    const metrics = graphMetrics(plainBody);
    const inWidget = (title: RegExp) => metrics.filter((m) => title.test(m.widget));

    // Assess
    expect(inWidget(/^Detection lag/).map((m) => m.options.stat)).toEqual(['p50', 'p90', 'Maximum']);
    const depths = inWidget(/^DLQ depth/);
    expect(depths.map((m) => m.name)).toEqual(Array(3).fill('ApproximateNumberOfMessagesVisible'));
    const deadLetterQueues = Object.values(plainResources)
      .filter((r) => r.Type === 'AWS::SQS::Queue' && r.Properties.RedrivePolicy)
      .map((r) =>
        placeholder({ 'Fn::GetAtt': [r.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0], 'QueueName'] }),
      );
    expect(depths.map((m) => m.dimensions.QueueName).sort()).toEqual(deadLetterQueues.sort());
    const byFunction = (title: RegExp) =>
      inWidget(title).map((m) => m.dimensions.FunctionName ?? m.dimensions.function_name);
    const functionRefs = FUNCTIONS.map((id) => `\${Ref:${id}}`);
    for (const [title, name] of [
      [/^Function errors/, 'Errors'],
      [/^Function throttles/, 'Throttles'],
      [/^Function duration/, 'Duration'],
      [/^Cold starts/, COLD_START_METRIC],
    ] as const) {
      expect(byFunction(title), name).toEqual(functionRefs);
      expect(new Set(inWidget(title).map((m) => m.name))).toEqual(new Set([name]));
    }
    expect(new Set(inWidget(/^Function duration/).map((m) => m.options.stat))).toEqual(new Set(['p90']));
  });

  it('never uses a namespace, job, run or principal as a dimension', () => {
    // Prepare
    const dimensionNames = new Set(
      [...graphMetrics(plainBody), ...graphMetrics(switchedBody)].flatMap((m) => Object.keys(m.dimensions)),
    );
    const alarmDimensions = alarmsOf(plainResources).flatMap(([, a]) =>
      alarmMetrics(a.Properties).flatMap((m) => Object.keys(m.dimensions)),
    );

    // Assess
    for (const name of [...dimensionNames, ...alarmDimensions]) {
      expect(name).not.toMatch(/namespace|job|run|principal|caller|secret/i);
    }
    expect(JSON.stringify(plainBody)).not.toContain('flytesnacks-development');
  });
});

describe('Construct: OperationsAlarms', () => {
  const alarmNamed = (prefix: string) =>
    alarmsOf(plainResources)
      .filter(([id]) => id.startsWith(`Alarms${prefix}`))
      .map(([, a]) => a.Properties);

  it('has the DLQ, function, sweeper, Databricks error rate and token failure alarms, each with a runbook line', () => {
    // Assess: 3 DLQs, errors and throttles of 5 functions, 1 sweeper, 4 endpoints, 5 auth modes.
    expect(alarmsOf(plainResources)).toHaveLength(3 + 10 + 1 + DATABRICKS_ENDPOINTS.length + AUTH_MODES.length);
    for (const [id, alarm] of alarmsOf(plainResources)) {
      expect(alarm.Properties.AlarmDescription, id).toMatch(/^.{80,1024}$/s);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
    for (const alarm of alarmNamed('Submit').filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible')) {
      // The queue policy refuses a redrive: the runbook must not send operators there.
      expect(alarm.AlarmDescription).toMatch(/redrive is refused/);
    }
  });

  it('fires on any sweeper give-up in a 5-minute period', () => {
    // Prepare
    const [alarm] = alarmNamed('SweeperGiveUps');

    // Assess
    expect(alarm).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: 'SweeperGiveUps',
      Dimensions: [{ Name: 'service', Value: METRICS_SERVICE }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
    });
  });

  it('fires per endpoint when 5xx and network exceed the threshold share of its calls for N periods', () => {
    // Prepare
    const alarms = alarmNamed('DatabricksErrorRate');

    // Assess
    expect(alarms).toHaveLength(DATABRICKS_ENDPOINTS.length);
    const endpoints = alarms.map((alarm) => {
      const metrics = alarmMetrics(alarm);
      // Within CloudWatch's 10 metrics per metric math alarm: the endpoint's six status classes.
      expect(metrics).toHaveLength(STATUS_CLASSES.length);
      for (const metric of metrics) {
        expect(metric.namespace).toBe(METRICS_NAMESPACE);
        expect(metric.name).toBe('DatabricksCalls');
        expect(Object.keys(metric.dimensions).sort()).toEqual([...METRICS.DatabricksCalls.dimensions].sort());
        expect(metric.dimensions.service).toBe(METRICS_SERVICE);
      }
      expect(metrics.map((m) => m.dimensions.StatusClass).sort()).toEqual([...STATUS_CLASSES].sort());
      expect(new Set(metrics.map((m) => m.dimensions.Endpoint)).size).toBe(1);
      const [rate] = alarm.Metrics.filter((m: Json) => m.ReturnData !== false && m.Expression);
      expect(rate.Expression).toMatch(
        new RegExp(
          `^IF\\(\\(.+\\) >= ${DATABRICKS_ERROR_RATE_ALARM.minimumCalls}, 100\\*\\(FILL\\(c_5xx,0\\)\\+FILL\\(c_network,0\\)\\)/\\(.+\\), 0\\)$`,
        ),
      );
      for (const m of alarm.Metrics.filter((q: Json) => q.MetricStat)) expect(m.MetricStat.Period).toBe(300);
      expect(alarm).toMatchObject({
        Threshold: DATABRICKS_ERROR_RATE_ALARM.percent,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: DATABRICKS_ERROR_RATE_ALARM.evaluationPeriods,
      });
      return metrics[0]?.dimensions.Endpoint;
    });
    expect(endpoints.sort()).toEqual([...DATABRICKS_ENDPOINTS].sort());
  });

  it('fires per auth mode on token failures in 2 of 3 periods', () => {
    // Prepare
    const alarms = alarmNamed('TokenFailures');

    // Assess
    expect(alarms.map((a) => a.Dimensions.find((d: Json) => d.Name === 'AuthMode')?.Value).sort()).toEqual(
      [...AUTH_MODES].sort(),
    );
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: 'TokenFailures',
        Statistic: 'Sum',
        Period: TOKEN_FAILURE_ALARM.period.toSeconds(),
        Threshold: 0,
        EvaluationPeriods: TOKEN_FAILURE_ALARM.evaluationPeriods,
        DatapointsToAlarm: TOKEN_FAILURE_ALARM.datapointsToAlarm,
      });
      expect(alarm.Dimensions.map((d: Json) => d.Name).sort()).toEqual([...METRICS.TokenFailures.dimensions].sort());
      expect(alarm.AlarmDescription).toContain(alarm.Dimensions.find((d: Json) => d.Name === 'AuthMode')?.Value);
    }
  });

  it('are shown on the dashboard', () => {
    // Prepare
    const shown = widgetTitled(plainBody, /^Alarms$/)?.properties.alarms;

    // Assess
    expect(shown?.sort()).toEqual(
      alarmsOf(plainResources)
        .map(([id]) => `\${GetAtt:${id}.Arn}`)
        .sort(),
    );
  });
});

describe('Stack: tracing and metrics switches', () => {
  const variables = (resources: Record<string, CfnResource>, id: string): Record<string, string> =>
    resources[id]?.Properties.Environment.Variables;
  const stage = (resources: Record<string, CfnResource>) =>
    Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::Stage')?.Properties;
  const xrayStatements = (synth: SynthesizedStack) =>
    policyStatements(synth.template).filter((s) => asArray(s.Action).some((a) => a.startsWith('xray:')));

  it('defaults to tracing on and no Workspace dimension', () => {
    expect(OBSERVABILITY_DEFAULTS).toEqual({ tracing: true, metricsWorkspaceDimension: false });
  });

  it('tracing on: every function traces actively, with X-Ray write in a policy of its own, and so does the stage', () => {
    // Prepare
    const statements = xrayStatements(plain);

    // Assess
    for (const id of FUNCTIONS) {
      const fn = plainResources[id];
      expect(fn?.Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(variables(plainResources, id).POWERTOOLS_TRACE_ENABLED).toBe('true');
      const roleId = fn?.Properties.Role['Fn::GetAtt'][0];
      const own = statements.filter((s) => plainResources[s.policy]?.Properties.Roles[0].Ref === roleId);
      expect(own, id).toHaveLength(1);
      expect(own[0]).toMatchObject({ Effect: 'Allow', Resource: '*' });
      expect(asArray(own[0]?.Action).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
      // Only the tracing statement in that policy, which the function waits for.
      expect(plainResources[own[0]?.policy ?? '']?.Properties.PolicyDocument.Statement).toHaveLength(1);
      expect(fn && asArray((fn as Json).DependsOn)).toContain(own[0]?.policy);
    }
    expect(stage(plainResources)?.TracingEnabled).toBe(true);
  });

  it('tracing off: no active tracing, no X-Ray permission, no stage tracing, POWERTOOLS_TRACE_ENABLED false', () => {
    // Assess
    for (const id of FUNCTIONS) {
      expect(switchedResources[id]?.Properties.TracingConfig, id).toBeUndefined();
      expect(variables(switchedResources, id).POWERTOOLS_TRACE_ENABLED).toBe('false');
    }
    expect(xrayStatements(switched)).toEqual([]);
    expect(JSON.stringify(switched.template.toJSON())).not.toContain('xray:');
    expect(stage(switchedResources)?.TracingEnabled).not.toBe(true);
  });

  it('gives every function the metrics namespace and keeps handler responses out of traces', () => {
    for (const resources of [plainResources, switchedResources]) {
      for (const id of FUNCTIONS) {
        expect(variables(resources, id)).toMatchObject({
          POWERTOOLS_SERVICE_NAME: METRICS_SERVICE,
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
        });
      }
    }
  });

  it('passes METRICS_WORKSPACE_DIMENSION to the Databricks callers only, as its switch says', () => {
    for (const id of FUNCTIONS) {
      const caller = DATABRICKS_CALLERS.includes(id);
      expect(variables(plainResources, id).METRICS_WORKSPACE_DIMENSION, id).toBe(caller ? 'false' : undefined);
      expect(variables(switchedResources, id).METRICS_WORKSPACE_DIMENSION, id).toBe(caller ? 'true' : undefined);
    }
  });

  it.each([
    [{ tracing: 'sometimes' }, 'tracing', /must be true or false \(got "sometimes"\)/],
    [{ metricsWorkspaceDimension: 1 }, 'metricsWorkspaceDimension', /must be true or false \(got 1\)/],
    [
      { metricsWorkspaceDimension: 'true', insecureAnyDatabricksHost: 'true', allowedDatabricksHosts: undefined },
      'metricsWorkspaceDimension',
      /must be false when insecureAnyDatabricksHost is true/,
    ],
  ])('refuses %j, naming %s', (context, key, message) => {
    // Act
    let error: unknown;
    try {
      buildStack(context, { nag: false });
    } catch (thrown) {
      error = thrown;
    }

    // Assess
    expect(error).toBeInstanceOf(StackConfigError);
    expect((error as StackConfigError).key).toBe(key);
    expect((error as StackConfigError).message).toMatch(message);
  });
});

describe('README: Operations', () => {
  const readme = readFileSync('README.md', 'utf8');
  const operations = readme.slice(
    readme.indexOf('\n## Operations'),
    readme.indexOf('\n## ', readme.indexOf('\n## Operations') + 1),
  );

  it('explains every widget and every alarm of the stack', () => {
    // Assess
    expect(operations.length).toBeGreaterThan(1000);
    const titles: string[] = plainBody.widgets.map((w: Json) => w.properties.title).filter(Boolean);
    for (const title of titles) expect(operations, title).toContain(title.replace(/ \(.*\)$/, ''));
    const families = ['DeadLetters', 'Errors', 'Throttles', 'SweeperGiveUps', 'DatabricksErrorRate', 'TokenFailures'];
    for (const [id] of alarmsOf(plainResources)) {
      expect(families.some((family) => id.includes(family))).toBe(true);
    }
    for (const family of families) expect(operations, family).toContain(family);
    for (const name of CATALOG_NAMES) expect(operations, name).toContain(name);
  });
});
