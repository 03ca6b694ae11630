/**
 * The bench's charts (issue #14), drawn from the numbers `npm run bench` computes anyway: the pacing simulations'
 * calls per second, the schedule simulation's detection lags, the cold starts' import times. bench/run.ts writes them
 * beside bench/results.md (in bench/results/) and links them from it. Plain SVG, pure: the same data gives the same
 * bytes.
 */
import { type CallsPerSecondData, callsPerSecondChart } from './calls-per-second.js';
import { type DetectionLagData, detectionLagChart } from './detection-lag.js';
import { type ImportTimeData, importTimeChart } from './import-time.js';
import type { Chart } from './svg.js';

export type { Chart } from './svg.js';

export interface BenchChartData {
  callsPerSecond: CallsPerSecondData;
  detectionLag: DetectionLagData;
  importTime: ImportTimeData;
}

export function benchCharts(data: BenchChartData): Chart[] {
  return [
    callsPerSecondChart(data.callsPerSecond),
    detectionLagChart(data.detectionLag),
    importTimeChart(data.importTime),
  ];
}

/** The markdown that shows the charts: each as an image, `folder` relative to the markdown file. */
export function chartsMarkdown(charts: readonly Chart[], folder: string): string {
  return charts.map((chart) => `![${chart.title.replace(/[[\]\\]/g, '\\$&')}](${folder}/${chart.file})`).join('\n\n');
}
