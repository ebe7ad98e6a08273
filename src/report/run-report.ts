// The report of one training run, OUT/report.html: loss (train and eval), learning rate, gradient norm,
// tokens/s and LISA's active blocks over the steps, each a Vega-Lite chart read from metrics.jsonl/eval.jsonl.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartToSvg, type ChartSpec } from './render.js';
import { escapeHtml, figureHtml, pageHtml, type Figure } from './html.js';
import { readRunLogs, type RunLogs } from './run-logs.js';

const WIDTH = 520;
const HEIGHT = 180;

function lineChart(title: string, rows: Record<string, number | string>[], y: string, yTitle: string, color?: string): ChartSpec {
  return {
    title, width: WIDTH, height: HEIGHT, data: { values: rows }, mark: { type: 'line', point: rows.length < 40 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
      y: { field: y, type: 'quantitative', title: yTitle, scale: { zero: false } },
      ...(color ? { color: { field: color, type: 'nominal', title: null } } : {}),
    },
  };
}

/** The run's chart specs by figure id (active blocks only for a LISA run). */
export function runChartSpecs(logs: RunLogs): { id: string; caption: string; spec: ChartSpec }[] {
  const s = logs.steps;
  const loss = [
    ...s.map((r) => ({ step: r.step, loss: r.loss, split: 'train' })),
    ...logs.evals.map((r) => ({ step: r.step, loss: r.loss, split: 'eval' })),
  ];
  const charts = [
    { id: 'loss', caption: 'Loss per optimizer step: train (the step\'s mean token loss) and eval (held-out mean token loss).', spec: lineChart('loss', loss, 'loss', 'mean token loss', 'split') },
    { id: 'lr', caption: 'Learning rate of each step (the schedule).', spec: lineChart('learning rate', s.map((r) => ({ step: r.step, lr: r.lr })), 'lr', 'learning rate') },
    { id: 'grad-norm', caption: 'Global gradient norm over the trainable parameters, before clipping.', spec: lineChart('gradient norm', s.map((r) => ({ step: r.step, gradNorm: r.gradNorm })), 'gradNorm', 'grad norm') },
    { id: 'tokens-per-sec', caption: 'Training throughput (tokens of the step over its compute time).', spec: lineChart('tokens/s', s.map((r) => ({ step: r.step, tokensPerSec: r.tokensPerSec })), 'tokensPerSec', 'tokens/s') },
  ];
  const active = s.flatMap((r) => (r.activeLayers ?? []).map((block) => ({ step: r.step, block })));
  if (active.length > 0) {
    charts.push({
      id: 'active-layers', caption: 'LISA: the transformer blocks trained at each step (one mark per active block and step).',
      spec: {
        title: 'active blocks', width: WIDTH, height: HEIGHT, data: { values: active }, mark: { type: 'square', size: 30 },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
          y: { field: 'block', type: 'ordinal', title: 'block', sort: 'descending' },
        },
      },
    });
  }
  return charts;
}

/** Renders DIR/report.html from the run's logs (a run with no logged step yet gets a page saying so). */
export async function writeRunReport(dir: string, title = `lisa train: ${dir}`): Promise<string> {
  const logs = readRunLogs(dir);
  const path = join(dir, 'report.html');
  if (logs.steps.length === 0) {
    writeFileSync(path, pageHtml(title, '<p>No training step was logged yet (metrics.jsonl is empty).</p>'));
    return path;
  }
  const figures: Figure[] = [];
  for (const c of runChartSpecs(logs)) figures.push({ id: c.id, caption: c.caption, svg: await chartToSvg(c.spec) });
  const last = logs.steps[logs.steps.length - 1];
  const bestEval = logs.evals.length ? Math.min(...logs.evals.map((e) => e.loss)) : null;
  const summary = `<p>${logs.steps.length} steps logged; last step ${last.step}: train loss ${last.loss.toFixed(4)}` +
    `${bestEval !== null ? `; best eval loss ${bestEval.toFixed(4)}` : ''}.</p>`;
  writeFileSync(path, pageHtml(title, `${summary}\n${figures.map(figureHtml).join('\n')}\n<p><code>${escapeHtml(dir)}</code></p>`));
  return path;
}
