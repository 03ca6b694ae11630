/**
 * Chart: the workspace's Jobs API calls in each second of the simulated hour (bench/simulate-pacing.ts with `trace`),
 * every job live all hour ("steady") and with jobs starting and ending ("churn", their runs/submit included), as one
 * line each, against the workspace's budget as a dashed line: is the rate under its budget all hour?
 */

import { num } from '../../infra/local/svg-markup.js';
import { linearScale, niceTicks, plotArea, xAxis, yAxis, yScaleOf } from './axes.js';
import { legend } from './legend.js';
import { type Chart, element, group, label, svgDocument, text } from './svg.js';

export interface CallsPerSecondData {
  /** WORKSPACE_API_BUDGET_RPS of the simulations. */
  budgetRps: number;
  /** Live jobs at t=0. */
  activeJobs: number;
  /** Calls in each second, every job live all hour (simulatePacing's callsPerSecond). */
  steady: readonly number[];
  /** The same with churn. */
  churn: readonly number[];
}

export const CALLS_PER_SECOND_FILE = 'calls-per-second.svg';
const TITLE = 'Workspace calls per second over a simulated hour vs the budget';
const WIDTH = 900;
const HEIGHT = 420;
const COLORS = { steady: '#1f77b4', churn: '#e6720f', budget: '#c0392b' } as const;

export function callsPerSecondChart(data: CallsPerSecondData): Chart {
  const seconds = Math.max(data.steady.length, data.churn.length);
  if (seconds < 2) throw new Error('a calls-per-second chart needs at least two seconds of calls');
  const plot = plotArea(WIDTH, HEIGHT, { top: 74, right: 28, bottom: 62, left: 76 });
  const x = linearScale([0, seconds - 1], [plot.left, plot.right]);
  const yTicks = niceTicks(Math.max(data.budgetRps, peak(data.steady), peak(data.churn)) * 1.05);
  const y = yScaleOf(plot, yTicks[yTicks.length - 1] as number);
  const minuteTicks = niceTicks((seconds - 1) / 60, 6).filter((minute) => minute * 60 <= seconds - 1);
  const line = (name: keyof typeof COLORS, series: readonly number[]) =>
    element('polyline', {
      class: `series ${name}`,
      fill: 'none',
      stroke: COLORS[name],
      'stroke-width': 1.2,
      'stroke-linejoin': 'round',
      points: series.map((calls, second) => `${num(x(second))},${num(y(calls))}`).join(' '),
    });
  const budgetY = y(data.budgetRps);
  const svg = svgDocument({
    id: 'calls-per-second',
    width: WIDTH,
    height: HEIGHT,
    title: TITLE,
    description: describe(data),
    body: [
      legend(plot.left, 50, [
        { label: `steady: ${label(data.activeJobs)} jobs live all hour`, color: COLORS.steady, mark: 'line' },
        { label: 'churn: jobs starting and ending all hour', color: COLORS.churn, mark: 'line' },
        { label: `budget: ${label(data.budgetRps, 2)} calls/s`, color: COLORS.budget, mark: 'dashed' },
      ]),
      yAxis(plot, y, yTicks, 'Jobs API calls per second'),
      xAxis(
        plot,
        (minute) => x(minute * 60),
        minuteTicks,
        'simulated time (minutes, virtual clock)',
        (minute) => label(minute, 1),
      ),
      group({ class: 'series-lines' }, [line('churn', data.churn), line('steady', data.steady)]),
      element('line', {
        class: 'budget',
        x1: plot.left,
        x2: plot.right,
        y1: budgetY,
        y2: budgetY,
        stroke: COLORS.budget,
        'stroke-width': 1.5,
        'stroke-dasharray': '6 4',
      }),
      text(plot.right - 4, budgetY - 6, `budget ${label(data.budgetRps, 2)} calls/s`, {
        class: 'budget-label',
        'text-anchor': 'end',
        fill: COLORS.budget,
      }),
    ],
  });
  return { file: CALLS_PER_SECOND_FILE, title: TITLE, svg };
}

function describe(data: CallsPerSecondData): string {
  const figures = (series: readonly number[]) =>
    `busiest second ${label(peak(series))} calls, mean ${label(mean(series), 1)} calls/s`;
  return (
    `Jobs API calls in each second of a simulated hour (virtual clock) on one workspace with ` +
    `${label(data.activeJobs)} live jobs at the start, all their polls delivered at once. ` +
    `Steady, every job live all hour: ${figures(data.steady)}. ` +
    `With churn, jobs starting (each with its runs/submit) and ending all hour: ${figures(data.churn)}. ` +
    `Dashed line: the workspace budget, ${label(data.budgetRps, 2)} calls per second.`
  );
}

function peak(series: readonly number[]): number {
  return series.reduce((most, calls) => Math.max(most, calls), 0);
}

function mean(series: readonly number[]): number {
  return series.length === 0 ? 0 : series.reduce((sum, calls) => sum + calls, 0) / series.length;
}
