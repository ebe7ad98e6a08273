// The text `lisa train CONFIG --dry-run` prints: the resolved config, the dataset summary, the trainable parameters,
// the memory estimate of this run (as `lisa memory` shows it) and the two measured steps.
import { stringify } from 'yaml';
import type { DryRunReport } from '../train/dry-run.js';
import { fmtBytes, formatMemoryTable } from './memory.js';

const count = (n: number) => n.toLocaleString('en-US');

function duration(s: number): string {
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function formatDryRun(r: DryRunReport, source: string): string {
  const c = r.config;
  const d = r.data;
  const m = r.memory;
  const lines = [
    `lisa train --dry-run ${source}: nothing is written (no checkpoint, no ${c.out})`,
    '',
    'config (defaults filled in):',
    ...stringify(c).trimEnd().split('\n').map((l) => `  ${l}`),
    '',
    `data: ${d.stats.format}, ${count(d.stats.records)} records -> ${count(d.trainExamples)} training + ${count(d.evalExamples)} held-out examples` +
      `${c.data.packing ? ` (packed from ${count(d.stats.examples)})` : ''}`,
    `  tokens: ${count(d.tokens)} (longest ${d.maxTokens}, data.maxLength ${c.data.maxLength}); truncated: ${count(d.stats.truncated)}; ` +
      `skipped: ${count(d.stats.skipped)}; masked fraction: ${d.maskedFraction.toFixed(3)} (tokens outside the loss)`,
    `parameters: ${count(r.params.total)}, trainable at step 1: ${count(r.params.trainable)} (${(100 * r.params.trainable / Math.max(1, r.params.total)).toFixed(2)}%)` +
      `${r.params.activeBlocks ? `, active blocks [${r.params.activeBlocks.join(', ')}]` : ''}`,
    '',
    `memory estimate (lisa memory for this run: batch ${m.batch} x seq ${m.seq}, ${c.train.weightDtype}):`,
    ...formatMemoryTable([m]).split('\n').map((l) => `  ${l}`),
    ...(m.worstPlacement ? [`  worst placement of the active blocks [${m.worstPlacement.activeBlocks.join(', ')}]: peak together ${fmtBytes(m.worstPlacement.peakTogether)}`] : []),
    '',
    `steps: ${count(r.totalSteps)} optimizer steps of ${c.train.batchSize} x ${c.train.gradAccum} examples`,
    ...r.steps.map((s) => `  measured step ${s.step}: ${s.seconds.toFixed(3)} s, ${count(s.tokens)} tokens in the loss, loss ${s.loss.toFixed(4)}`),
  ];
  const last = r.steps[r.steps.length - 1];
  if (last) {
    lines.push(`  at step ${last.step}'s pace: ${Math.round(last.tokens / last.seconds)} tokens/s, about ${duration(last.seconds * r.totalSteps)} for ${count(r.totalSteps)} steps (evaluations and saves not included)`);
  }
  return `${lines.join('\n')}\n`;
}
