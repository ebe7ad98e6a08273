// The comparison's Vega-Lite chart specs: train and eval loss curves (one line per method: the mean over seeds,
// with a band of one standard deviation) and memory bars by category (estimate and measured per method).
import type { ChartSpec } from '../report/render.js';
import { readRunLogs } from '../report/run-logs.js';
import { ESTIMATE_CATEGORIES, MEASURED_CATEGORIES, type CompareResults } from './results.js';

const WIDTH = 560;
const HEIGHT = 220;

function curves(title: string, rows: { method: string; seed: number; step: number; loss: number }[], order: string[]): ChartSpec {
  const x = { field: 'step', type: 'quantitative' as const, title: 'optimizer step' };
  const color = { field: 'method', type: 'nominal' as const, sort: order, title: 'method' };
  return {
    title, width: WIDTH, height: HEIGHT, data: { values: rows },
    layer: [
      { mark: { type: 'errorband', extent: 'stdev', opacity: 0.25 }, encoding: { x, y: { field: 'loss', type: 'quantitative', title: 'mean token loss', scale: { zero: false } }, color } },
      { mark: { type: 'line' }, encoding: { x, y: { aggregate: 'mean', field: 'loss', type: 'quantitative', title: 'mean token loss' }, color } },
    ],
  };
}

/** Loss curves of every run: train (every step) and eval (every evaluation), grouped by method. */
export function lossCharts(r: CompareResults): { train: ChartSpec; eval: ChartSpec | null } {
  const order = r.methods.map((m) => m.name);
  const train: { method: string; seed: number; step: number; loss: number }[] = [];
  const evals: typeof train = [];
  for (const m of r.methods) {
    for (const run of m.runs) {
      const logs = readRunLogs(run.dir);
      for (const s of logs.steps) train.push({ method: m.name, seed: run.seed, step: s.step, loss: s.loss });
      for (const e of logs.evals) evals.push({ method: m.name, seed: run.seed, step: e.step, loss: e.loss });
    }
  }
  return {
    train: curves('train loss (mean over seeds, band: ± 1 sd)', train, order),
    eval: evals.length ? curves('eval loss (mean over seeds, band: ± 1 sd)', evals, order) : null,
  };
}

/** One stacked bar per method and source (estimate, measured mean), a segment per memory category (MiB). */
export function memoryChart(r: CompareResults): ChartSpec {
  const rows: { bar: string; category: string; MiB: number }[] = [];
  for (const m of r.methods) {
    for (const c of ESTIMATE_CATEGORIES) rows.push({ bar: `${m.name} (estimate)`, category: c, MiB: m.memory.estimate[c] / 2 ** 20 });
    for (const c of MEASURED_CATEGORIES) rows.push({ bar: `${m.name} (measured)`, category: c, MiB: (m.memory.measured[c]?.mean ?? 0) / 2 ** 20 });
  }
  return {
    title: 'peak memory by category (estimate: meta backend at batch x maxLength; measured: largest step peak, mean over seeds)',
    width: WIDTH, height: HEIGHT, data: { values: rows }, mark: 'bar',
    encoding: {
      x: { field: 'bar', type: 'nominal', sort: null, title: null, axis: { labelAngle: -30 } },
      y: { field: 'MiB', type: 'quantitative', title: 'MiB', stack: 'zero' },
      color: { field: 'category', type: 'nominal', title: 'category' },
    },
  };
}
