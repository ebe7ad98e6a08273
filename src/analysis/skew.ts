// Whether a run's skew of norms toward the embedding and head is real or an artefact of measuring LoRA adapters
// against whole matrices, stated from the three statistics of `lisa norms`.
import type { RunNorms } from './layer-norms.js';

export interface SkewVerdict {
  run: string;
  /** mean over {embed, head} / mean over the blocks, of meanWeightNorm: whole weights against whole weights. */
  weightRatio: number;
  /** The same ratio of updateNorm: where training moved the weights. */
  updateRatio: number;
  /** LoRA: embed/head meanWeightNorm over the blocks' adapterNorm, the comparison of adapters against whole
   *  matrices; null without adapters. */
  adapterVsMatrixRatio: number | null;
  /** real: the updates themselves concentrate on embed/head; artefact: only the adapters-against-matrices
   *  comparison is skewed; none: no statistic is skewed. */
  verdict: 'real' | 'artefact' | 'none';
  sentence: string;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
/** a / b, with 0/0 = 0 (nothing moved anywhere) and x/0 = Infinity (printed 'inf'). */
const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? 0 : Infinity) : a / b);
const show = (x: number) => (Number.isFinite(x) ? `${x.toPrecision(3)}x` : 'inf');

/** A ratio at or above `threshold` (default 2: embed/head at least twice the blocks' mean) counts as a skew. */
export function skewVerdict(run: RunNorms, threshold = 2): SkewVerdict {
  const eh = run.layers.filter((l) => l.layer === 'embed' || l.layer === 'head');
  const blocks = run.layers.filter((l) => l.layer.startsWith('block.'));
  const weightRatio = ratio(mean(eh.map((l) => l.meanWeightNorm)), mean(blocks.map((l) => l.meanWeightNorm)));
  const updateRatio = ratio(mean(eh.map((l) => l.updateNorm)), mean(blocks.map((l) => l.updateNorm)));
  const adapted = blocks.filter((l) => l.adapterNorm !== null).map((l) => l.adapterNorm as number);
  const adapterVsMatrixRatio = adapted.length ? ratio(mean(eh.map((l) => l.meanWeightNorm)), mean(adapted)) : null;
  const facts = `embed/head against the blocks' mean: update norm ${show(updateRatio)}, whole weight norm ${show(weightRatio)}` +
    (adapterVsMatrixRatio !== null ? `, whole embed/head matrices against block adapters ${show(adapterVsMatrixRatio)}` : '');
  let verdict: SkewVerdict['verdict'];
  let sentence: string;
  if (updateRatio >= threshold) {
    verdict = 'real';
    sentence = `${run.run} (${run.method}): the skew toward embed/head is real: training moved the embedding and head more than the blocks (${facts}).`;
  } else if (adapterVsMatrixRatio !== null && adapterVsMatrixRatio >= threshold) {
    verdict = 'artefact';
    sentence = `${run.run} (${run.method}): the skew toward embed/head is an artefact of measuring adapters against whole matrices: ` +
      `it appears only when the blocks' LoRA adapters are set against the whole embedding and head (${facts}).`;
  } else {
    verdict = 'none';
    sentence = `${run.run} (${run.method}): no skew toward embed/head at a ${threshold}x threshold (${facts}).`;
  }
  return { run: run.run, weightRatio, updateRatio, adapterVsMatrixRatio, verdict, sentence };
}
