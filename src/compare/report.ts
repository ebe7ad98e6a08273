// Writes a comparison's outputs: OUT/results.json (the numbers), OUT/report.md (table and one sentence per
// claim), OUT/report.html (the same plus the charts inline, self-contained) and OUT/plots/*.svg|png.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { chartToSvg, svgToPng, type ChartSpec } from '../report/render.js';
import { escapeHtml, figureHtml, pageHtml, type Figure } from '../report/html.js';
import type { Claim } from './claims.js';
import { normsChartSpec } from '../report/norms-chart.js';
import { lossCharts, memoryChart } from './charts.js';
import type { CompareResults, MethodResult, Spread } from './results.js';

const mib = (b: number) => (b / 2 ** 20).toFixed(3);
const loss = (x: number) => x.toFixed(4);
const secs = (x: number) => x.toPrecision(4);
const pm = (s: Spread | null, f: (x: number) => string) => (s ? `${f(s.mean)} ± ${f(s.sd)}` : '-');

/** The main table: a header and one row of cells per method (the same text in Markdown and HTML). */
export function summaryTable(r: CompareResults): { head: string[]; rows: string[][] } {
  return {
    head: ['method', 'trainable params', 'est. peak (MiB)', 'measured peak (MiB)', 'median step (s)', 'final train loss', 'best eval loss'],
    rows: r.methods.map((m) => [
      m.name, String(m.trainableParams), mib(m.memory.estimate.peakTogether), pm(m.memory.measured.total, mib),
      pm(m.medianStepSeconds, secs), pm(m.finalTrainLoss, loss), pm(m.bestEvalLoss, loss),
    ]),
  };
}

/** Memory by category: per method, the estimate's and the measured (mean) peaks in MiB. */
export function memoryTable(r: CompareResults): { head: string[]; rows: string[][] } {
  const cats = ['weights', 'adapters', 'gradients', 'optimizer', 'activations', 'other'];
  const cell = (m: MethodResult, c: string, src: 'estimate' | 'measured') => {
    if (src === 'estimate') return c in m.memory.estimate ? mib(m.memory.estimate[c]) : '-';
    const s = m.memory.measured[c];
    return s ? mib(s.mean) : '-';
  };
  return {
    head: ['method', 'source', ...cats.map((c) => `${c} (MiB)`)],
    rows: r.methods.flatMap((m) => (['estimate', 'measured'] as const).map((src) => [m.name, src, ...cats.map((c) => cell(m, c, src))])),
  };
}

const mdTable = (t: { head: string[]; rows: string[][] }) =>
  [`| ${t.head.join(' | ')} |`, `|${t.head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...t.rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

const htmlTable = (id: string, t: { head: string[]; rows: string[][] }) =>
  `<table id="${id}">\n<thead><tr>${t.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>\n<tbody>\n` +
  t.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n') + '\n</tbody>\n</table>';

function intro(r: CompareResults): string {
  return `${r.methods.length} methods x ${r.seeds.length} seed(s) (${r.seeds.join(', ')}), ${r.steps} steps each, from ${r.source}. ` +
    `Model: ${r.model.family}, ${r.model.totalParams} parameters in ${r.model.blocks} blocks; embedding and head ${r.model.embedHeadParams} ` +
    `(${(100 * r.model.embedHeadParams / r.model.totalParams).toFixed(1)}%). Values are mean ± sample sd over seeds. ` +
    'Estimated peak: the meta backend\'s simultaneous peak at batch x maxLength; measured: the largest step peak the run logged (engine accounting).';
}

export interface ReportInput { results: CompareResults; claims: Claim[] }

/** Writes results.json, report.md, report.html and the plots; returns their paths. */
export async function writeCompareReport(out: string, input: ReportInput): Promise<{ results: string; md: string; html: string; plots: string[] }> {
  const { results: r, claims } = input;
  mkdirSync(join(out, 'plots'), { recursive: true });
  const resultsPath = join(out, 'results.json');
  writeFileSync(resultsPath, `${JSON.stringify({ ...r, claims }, null, 2)}\n`);
  const loss = lossCharts(r);
  const charts: { id: string; caption: string; spec: ChartSpec }[] = [
    { id: 'train-loss', caption: 'Train loss per step: one line per method (mean over seeds), band ± 1 sd.', spec: loss.train },
    ...(loss.eval ? [{ id: 'eval-loss', caption: 'Eval (held-out) loss: one line per method (mean over seeds), band ± 1 sd.', spec: loss.eval }] : []),
    { id: 'memory', caption: 'Peak memory by category, estimate and measured, per method.', spec: memoryChart(r) },
    ...(r.norms.runs.length ? [{ id: 'norms', caption: 'Layerwise norms against the base (lisa norms): per layer, one bar per run; every method\'s first seed and every LoRA run.', spec: normsChartSpec(r.norms) }] : []),
  ];
  const figures: Figure[] = [];
  const plots: string[] = [];
  for (const c of charts) {
    const svg = await chartToSvg(c.spec);
    figures.push({ id: c.id, caption: c.caption, svg });
    writeFileSync(join(out, 'plots', `${c.id}.svg`), svg);
    writeFileSync(join(out, 'plots', `${c.id}.png`), svgToPng(svg));
    plots.push(join(out, 'plots', `${c.id}.svg`), join(out, 'plots', `${c.id}.png`));
  }
  const summary = summaryTable(r);
  const memory = memoryTable(r);
  const runs = r.methods.flatMap((m) => m.runs.map((x) => `- ${m.name}, seed ${x.seed}: \`${relative(out, x.dir)}\` (${x.steps} steps; its own report.html)`));
  const md = [
    `# lisa compare: ${r.source}`, '', intro(r), '', '## Results', '', mdTable(summary), '', '## Memory by category', '', mdTable(memory), '',
    '## The paper\'s claims', '', ...claims.flatMap((c) => [c.sentence, '']),
    '## Runs', '', ...runs, '', 'Plots: `plots/` (SVG and PNG); charts: `report.html`.', '',
  ].join('\n');
  const mdPath = join(out, 'report.md');
  writeFileSync(mdPath, md);
  const body = [
    `<p>${escapeHtml(intro(r))}</p>`, '<h2>Results</h2>', htmlTable('results', summary), '<h2>The paper\'s claims</h2>',
    ...claims.map((c) => `<p class="claim" id="claim-${c.id}">${escapeHtml(c.sentence)}</p>`),
    '<h2>Charts</h2>', ...figures.map(figureHtml), '<h2>Memory by category</h2>', htmlTable('memory-table', memory),
    '<h2>Runs</h2>', `<ul>${r.methods.flatMap((m) => m.runs.map((x) => `<li>${escapeHtml(`${m.name}, seed ${x.seed}: ${relative(out, x.dir)} (${x.steps} steps)`)}</li>`)).join('')}</ul>`,
  ].join('\n');
  const htmlPath = join(out, 'report.html');
  writeFileSync(htmlPath, pageHtml(`lisa compare: ${r.source}`, body));
  return { results: resultsPath, md: mdPath, html: htmlPath, plots };
}
