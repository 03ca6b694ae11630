/**
 * The bench's charts (bench/charts/, written by `npm run bench` beside bench/results.md): each is well-formed SVG
 * (read with a strict XML reader) with an accessible title and description, plots the series it is given (point and
 * bar counts, positions recovered from its own axis ticks), escapes its text, and is the same bytes for the same
 * data. The series come from the simulations the bench runs (small ones here: counts on a virtual clock, no timing).
 */
import { describe, expect, it } from 'vitest';
import { median } from '../../../bench/bench-stats.js';
import { niceTicks } from '../../../bench/charts/axes.js';
import { CALLS_PER_SECOND_FILE, callsPerSecondChart } from '../../../bench/charts/calls-per-second.js';
import { DETECTION_LAG_FILE, detectionLagChart, lagByRunLength } from '../../../bench/charts/detection-lag.js';
import { IMPORT_TIME_FILE, importTimeChart } from '../../../bench/charts/import-time.js';
import { benchCharts, chartsMarkdown } from '../../../bench/charts/index.js';
import { label } from '../../../bench/charts/svg.js';
import { RUN_LENGTH_MIX } from '../../../bench/run-length-mix.js';
import { simulatePacing } from '../../../bench/simulate-pacing.js';
import { simulateSchedule } from '../../../bench/simulate-schedule.js';
import { escapeMarkup, num } from '../../../infra/local/svg-markup.js';
import { allElements, byClass, parseXml, textOf, type XmlElement } from './xml-tree.js';

const attr = (el: XmlElement | undefined, name: string): string => {
  const value = el?.attributes[name];
  if (value === undefined) throw new Error(`no ${name} on <${el?.name}>`);
  return value;
};
const numberAttr = (el: XmlElement | undefined, name: string) => Number(attr(el, name));
const one = (root: XmlElement, className: string): XmlElement => {
  const found = byClass(root, className);
  expect(found, `elements of class ${className}`).toHaveLength(1);
  return found[0] as XmlElement;
};

/** The value -> y map the chart drew with, recovered from its y axis: each gridline beside its tick label. */
function yScaleFrom(root: XmlElement): (value: number) => number {
  const axis = one(root, 'y-axis');
  const lines = byClass(axis, 'grid').map((line) => numberAttr(line, 'y1'));
  const values = byClass(axis, 'tick-label').map((tick) => Number(textOf(tick).replaceAll(',', '')));
  expect(lines.length).toBe(values.length);
  expect(values.length).toBeGreaterThanOrEqual(3);
  const [v0, v1, y0, y1] = [values[0], values.at(-1), lines[0], lines.at(-1)] as [number, number, number, number];
  return (value) => y0 + ((value - v0) / (v1 - v0)) * (y1 - y0);
}

/** Parses a chart and checks what every chart has: the root, its accessible name and description, its title. */
function parseChart(svg: string, title: string): XmlElement {
  expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')).toBe(true);
  const root = parseXml(svg);
  expect(root.name).toBe('svg');
  expect(root.attributes).toMatchObject({ xmlns: 'http://www.w3.org/2000/svg', role: 'img' });
  expect(attr(root, 'viewBox')).toBe(`0 0 ${attr(root, 'width')} ${attr(root, 'height')}`);
  const [titleId, descId] = attr(root, 'aria-labelledby').split(' ');
  const titleEl = allElements(root).find((el) => el.name === 'title');
  const descEl = allElements(root).find((el) => el.name === 'desc');
  expect(titleEl?.attributes.id).toBe(titleId);
  expect(descEl?.attributes.id).toBe(descId);
  expect(textOf(titleEl as XmlElement)).toBe(title);
  expect(textOf(descEl as XmlElement).length).toBeGreaterThan(50);
  // The title is also drawn, and both axes have a title.
  expect(allElements(root).some((el) => el.name === 'text' && textOf(el) === title)).toBe(true);
  expect(byClass(root, 'axis-title')).toHaveLength(2);
  return root;
}

describe('Function: parseXml() (the tests’ well-formedness check)', () => {
  it.each([
    ['<a>&</a>', 'bare &'],
    ['<a>&nbsp;</a>', 'unknown entity'],
    ['<a><b></a></b>', 'closes'],
    ['<a x="<"/>', '< in the value'],
    ['<a x=1/>', 'not quoted'],
    ['<a x="1" x="2"/>', 'repeated'],
    ['<a/><b/>', 'after the root'],
    ['<a>', 'not closed'],
  ])('rejects %s', (source, why) => {
    expect(() => parseXml(source)).toThrow(why);
  });

  it('decodes entities in text and attributes', () => {
    const root = parseXml('<a t="&quot;&lt;&amp;">x &gt; y &#233;&#x41;</a>');
    expect(root.attributes.t).toBe('"<&');
    expect(textOf(root)).toBe('x > y éA');
  });
});

describe('SVG primitives', () => {
  it('escapes the five XML characters, writes numbers one way, and picks nice ticks', () => {
    expect(escapeMarkup(`<a href="x">Tom & Jerry's</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;',
    );
    expect([num(-0.04), num(1.25), num(12), num(0.1 + 0.2)]).toEqual(['0', '1.3', '12', '0.3']);
    expect([label(13210), label(1234567.891, 2), label(103, 1, true), label(-1500)]).toEqual([
      '13,210',
      '1,234,567.89',
      '103.0',
      '-1,500',
    ]);
    expect(niceTicks(21)).toEqual([0, 5, 10, 15, 20, 25]);
    expect(niceTicks(60, 6)).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(niceTicks(0.7)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(0)).toEqual([0, 0.2]);
    expect(niceTicks(2.1)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
  });
});

// The bench's two pacing runs, small: 400 jobs on a 2 calls/s workspace for a quarter of an hour.
const small = { activeJobs: 400, budgetRps: 2, hours: 0.25, seed: 11, trace: true };
const steady = await simulatePacing(small);
const churn = await simulatePacing({ ...small, churn: true });

describe('Chart: calls per second vs the budget', () => {
  const data = {
    budgetRps: 2,
    activeJobs: 400,
    steady: steady.callsPerSecond as number[],
    churn: churn.callsPerSecond as number[],
  };
  const chart = callsPerSecondChart(data);
  const root = parseChart(chart.svg, chart.title);

  it('plots one line per scenario, a point for every second of the simulation', () => {
    expect(chart.file).toBe(CALLS_PER_SECOND_FILE);
    expect(data.steady).toHaveLength(901);
    expect(data.churn).toHaveLength(901);
    const y = yScaleFrom(root);
    for (const scenario of ['steady', 'churn'] as const) {
      const points = attr(one(root, scenario), 'points')
        .split(' ')
        .map((point) => point.split(',').map(Number) as [number, number]);
      expect(points).toHaveLength(data[scenario].length);
      points.forEach(([, py], second) => {
        expect(Math.abs(py - y(data[scenario][second] as number))).toBeLessThanOrEqual(0.05);
      });
      // Time runs left to right, one step a second.
      expect(points.every(([px], i) => i === 0 || px > (points[i - 1] as [number, number])[0])).toBe(true);
    }
  });

  it('draws the budget as a dashed line at its place on the y axis, above every second the ledger allowed', () => {
    const budget = one(root, 'budget');
    const y = yScaleFrom(root);
    expect(numberAttr(budget, 'y1')).toBeCloseTo(y(2), 1);
    expect(attr(budget, 'y2')).toBe(attr(budget, 'y1'));
    expect(attr(budget, 'stroke-dasharray')).toBe('6 4');
    expect(textOf(one(root, 'budget-label'))).toBe('budget 2 calls/s');
    // Every call within the budget: every point at or below the line (y grows downwards).
    for (const scenario of ['steady', 'churn']) {
      const ys = attr(one(root, scenario), 'points')
        .split(' ')
        .map((point) => Number(point.split(',')[1]));
      expect(Math.min(...ys)).toBeGreaterThanOrEqual(numberAttr(budget, 'y1'));
    }
  });

  it('labels its axes, minutes along the bottom, and names the scenarios in the legend and description', () => {
    const xTicks = byClass(one(root, 'x-axis'), 'tick-label').map(textOf);
    expect(xTicks[0]).toBe('0');
    expect(xTicks.at(-1)).toBe('15');
    expect(byClass(one(root, 'y-axis'), 'tick-label').map(textOf)).toEqual(['0', '0.5', '1', '1.5', '2', '2.5']);
    expect(byClass(root, 'axis-title').map(textOf)).toEqual([
      'Jobs API calls per second',
      'simulated time (minutes, virtual clock)',
    ]);
    expect(byClass(root, 'legend-label').map(textOf)).toEqual([
      'steady: 400 jobs live all hour',
      'churn: jobs starting and ending all hour',
      'budget: 2 calls/s',
    ]);
    const desc = textOf(allElements(root).find((el) => el.name === 'desc') as XmlElement);
    expect(desc).toContain(`busiest second ${Math.max(...data.churn)} calls`);
  });
});

describe('Chart: detection lag by run length', () => {
  const schedule = simulateSchedule({ jobs: 4000, seed: 7, trace: true });
  const detections = schedule.detections ?? [];
  const chart = detectionLagChart({ detections, bands: RUN_LENGTH_MIX });
  const root = parseChart(chart.svg, chart.title);
  const buckets = lagByRunLength(detections, RUN_LENGTH_MIX);

  it('takes every run of the schedule simulation; trace changes none of its figures', () => {
    expect(detections).toHaveLength(4000);
    const { detections: _, ...figures } = schedule;
    expect(figures).toEqual(simulateSchedule({ jobs: 4000, seed: 7 }));
    expect(buckets.map((bucket) => bucket.label)).toEqual(['1–5 min', '5–20 min', '20–90 min', '1.5–6 h']);
    expect(buckets.reduce((sum, bucket) => sum + bucket.runs, 0)).toBe(4000);
    // The shortest band is the table's "runs < 5 min": the same median as the schedule simulation's.
    expect(buckets[0]?.p50).toBe(schedule.medianDetectionLagS);
    expect(buckets[0]?.runs).toBe(schedule.shortRuns);
    expect(buckets[3]?.p50).toBe(median(detections.filter((d) => d.runSeconds >= 5400).map((d) => d.lagSeconds)));
  });

  it('draws a median, a 90th percentile and a longest bar per band, each as tall as its value', () => {
    expect(chart.file).toBe(DETECTION_LAG_FILE);
    const y = yScaleFrom(root);
    const bottom = y(0);
    for (const stat of ['p50', 'p90', 'max'] as const) {
      const bars = byClass(root, stat);
      expect(bars).toHaveLength(buckets.length);
      bars.forEach((bar, i) => {
        const value = (buckets[i] as (typeof buckets)[number])[stat];
        expect(numberAttr(bar, 'y')).toBeCloseTo(y(value), 1);
        expect(numberAttr(bar, 'y') + numberAttr(bar, 'height')).toBeCloseTo(bottom, 1);
      });
    }
    expect(byClass(root, 'bar')).toHaveLength(3 * buckets.length);
    expect(byClass(root, 'value-label')).toHaveLength(3 * buckets.length);
  });

  it('labels each band with its run lengths and run count', () => {
    const labels = byClass(one(root, 'x-axis'), 'tick-label').map((tick) =>
      tick.children.map((line) => textOf(line as XmlElement)),
    );
    expect(labels).toEqual(buckets.map((bucket) => [bucket.label, `${label(bucket.runs)} runs`]));
    expect(byClass(root, 'legend-label').map(textOf)).toEqual(['median', '90th percentile', 'longest']);
  });
});

describe('Chart: cold-start import time vs the SDK reference', () => {
  const functions = { api: 110.35, submit: 115.7, poll: 103.4, cancel: 98.2, sweep: 103 };
  const chart = importTimeChart({ functions, referenceMs: 301.8 });
  const root = parseChart(chart.svg, chart.title);

  it('draws a bar per function and one for the reference, each as tall as its import time', () => {
    expect(chart.file).toBe(IMPORT_TIME_FILE);
    const y = yScaleFrom(root);
    const bars = byClass(root, 'function');
    expect(bars).toHaveLength(Object.keys(functions).length);
    Object.values(functions).forEach((ms, i) => {
      expect(numberAttr(bars[i], 'y')).toBeCloseTo(y(ms), 1);
    });
    expect(numberAttr(one(root, 'reference'), 'y')).toBeCloseTo(y(301.8), 1);
    expect(byClass(root, 'value-label').map(textOf)).toEqual([
      '110.4 ms',
      '115.7 ms',
      '103.4 ms',
      '98.2 ms',
      '103.0 ms',
      '301.8 ms',
    ]);
    const names = byClass(one(root, 'x-axis'), 'tick-label').map(textOf);
    expect(names).toEqual([...Object.keys(functions), 'SDK reference']);
  });

  it('draws the target, half the reference, as a dashed line at its place', () => {
    const target = one(root, 'target');
    expect(numberAttr(target, 'y1')).toBeCloseTo(yScaleFrom(root)(150.9), 1);
    expect(attr(target, 'stroke-dasharray')).toBe('6 4');
    expect(textOf(one(root, 'target-label'))).toBe('target <= 150.9 ms');
    expect(chart.svg).toContain('target &lt;= 150.9 ms');
  });

  it('escapes a name with XML in it: the file stays well-formed and reads back as written', () => {
    const name = `poll<v2> & "friends" 'n'`;
    const odd = importTimeChart({ functions: { [name]: 42 }, referenceMs: 100 });
    const oddRoot = parseXml(odd.svg);
    expect(byClass(oddRoot, 'tick-label').map(textOf)).toContain(name);
    expect(textOf(allElements(oddRoot).find((el) => el.name === 'desc') as XmlElement)).toContain(`${name} 42 ms`);
    expect(odd.svg).not.toContain(name);
    expect(odd.svg).toContain('poll&lt;v2&gt; &amp; &quot;friends&quot; &#39;n&#39;');
  });
});

describe('Function: benchCharts()', () => {
  const data = () => ({
    callsPerSecond: { budgetRps: 20, activeJobs: 10_000, steady: [12, 12, 0, 11], churn: [17, 18, 14, 15] },
    detectionLag: {
      detections: [
        { runSeconds: 90, lagSeconds: 6 },
        { runSeconds: 400, lagSeconds: 40 },
        { runSeconds: 9000, lagSeconds: 170 },
      ],
      bands: RUN_LENGTH_MIX,
    },
    importTime: { functions: { api: 110, poll: 100 }, referenceMs: 300 },
  });

  it('gives the three charts, the same bytes for the same data, each linked from the markdown', () => {
    const charts = benchCharts(data());
    expect(charts.map((chart) => chart.file)).toEqual([CALLS_PER_SECOND_FILE, DETECTION_LAG_FILE, IMPORT_TIME_FILE]);
    expect(benchCharts(data())).toEqual(charts);
    for (const chart of charts) parseChart(chart.svg, chart.title);
    // An empty band (no run of 20 to 90 min here) has no bars.
    expect(byClass(parseXml((charts[1] as (typeof charts)[number]).svg), 'bar')).toHaveLength(9);
    expect(chartsMarkdown(charts, 'results').split('\n\n')).toEqual(
      charts.map((chart) => `![${chart.title}](results/${chart.file})`),
    );
  });

  it('fails on a series too short to draw rather than writing a broken chart', () => {
    expect(() =>
      benchCharts({ ...data(), callsPerSecond: { ...data().callsPerSecond, steady: [], churn: [1] } }),
    ).toThrow('at least two seconds');
  });
});
