// The paper's three claims, each as one plain sentence computed from a comparison's numbers: whether it held
// here and why. (a) norms skewed to embedding and head under LoRA; (b) LISA's loss below LoRA's and near full
// fine-tuning's; (c) LISA's peak memory at or below LoRA's.
import type { RunNorms } from '../analysis/layer-norms.js';
import { skewVerdict } from '../analysis/skew.js';
import type { CompareResults, MethodResult, Spread } from './results.js';

export interface Claim { id: 'a' | 'b' | 'c'; held: boolean | null; sentence: string }

const f4 = (x: number) => x.toFixed(4);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(3)} MiB`;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const pm = (s: Spread, f: (x: number) => string) => `${f(s.mean)} ± ${f(s.sd)}`;

const byKind = (r: CompareResults, kind: string, prefer?: string) =>
  r.methods.find((m) => m.kind === kind && m.name === prefer) ?? r.methods.find((m) => m.kind === kind);

/** The loss a claim compares: best eval loss where the runs evaluated, else the final train loss. */
function lossOf(m: MethodResult): { s: Spread; what: string } | null {
  if (m.bestEvalLoss) return { s: m.bestEvalLoss, what: 'best eval loss' };
  if (m.finalTrainLoss) return { s: m.finalTrainLoss, what: 'final train loss' };
  return null;
}

/** (a) from the LoRA runs' norms: the paper's statistic (mean weight norm) embed/head against the blocks, and
 *  whether the updates themselves show the skew (`lisa norms`' verdict: real, artefact or none). */
function claimA(r: CompareResults): Claim {
  const lora = r.norms.runs.filter((n: RunNorms) => n.method === 'lora');
  if (lora.length === 0) return { id: 'a', held: null, sentence: '(a) Not checked here: the comparison has no finished LoRA run to measure norms on.' };
  const v = lora.map((n) => skewVerdict(n));
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  const show = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'inf');
  const weight = mean(v.map((x) => x.weightRatio));
  const update = mean(v.map((x) => x.updateRatio));
  const adapters = v.every((x) => x.adapterVsMatrixRatio !== null) ? mean(v.map((x) => x.adapterVsMatrixRatio as number)) : null;
  const count = (k: string) => v.filter((x) => x.verdict === k).length;
  const verdict = (['real', 'artefact', 'none'] as const).reduce((best, k) => (count(k) > count(best) ? k : best), 'none' as 'real' | 'artefact' | 'none');
  const held = weight >= 2 || (adapters ?? 0) >= 2;
  const why = verdict === 'real' ? 'the skew is real: the updates themselves concentrate on the embedding and head'
    : verdict === 'artefact' ? 'the skew is an artefact of measuring LoRA adapters against whole matrices: the updates do not concentrate on the embedding and head'
    : 'no statistic shows the skew at 2x';
  return {
    id: 'a', held,
    sentence: `(a) ${held ? 'Held' : 'Did not hold'} here (a skew counts at 2x): under LoRA (${lora.length} run(s)), embedding and head against the blocks' mean have ` +
      `a mean weight norm ratio of ${show(weight)}, an update norm ratio of ${show(update)}` +
      `${adapters !== null ? ` and, whole embed/head matrices against the blocks' adapters, ${show(adapters)}` : ''}; ${why} (verdicts: ${v.map((x) => x.verdict).join(', ')}).`,
  };
}

function claimB(r: CompareResults): Claim {
  const lisa = byKind(r, 'lisa', 'lisa');
  const lora = byKind(r, 'lora');
  const full = byKind(r, 'full');
  const ls = lisa && lossOf(lisa);
  const lo = lora && lossOf(lora);
  if (!lisa || !lora || !ls || !lo) return { id: 'b', held: null, sentence: '(b) Not checked here: it needs a LISA and a LoRA run with logged losses.' };
  const held = ls.s.mean < lo.s.mean;
  const gap = Math.abs(ls.s.mean - lo.s.mean);
  const noise = Math.hypot(ls.s.sd, lo.s.sd);
  const decisive = ls.s.n > 1 && lo.s.n > 1 ? (gap > noise ? ' (the gap exceeds the seeds\' combined spread)' : ' (the gap is within the seeds\' combined spread, so not decisive)') : ' (one seed: no spread to judge the gap against)';
  let vsFull = '';
  const fl = full && lossOf(full);
  if (full && fl && fl.what === ls.what) {
    const rel = (ls.s.mean - fl.s.mean) / fl.s.mean;
    vsFull = `; full fine-tuning reached ${pm(fl.s, f4)}, so LISA is ${pct(Math.abs(rel))} ${rel >= 0 ? 'above' : 'below'} it`;
  }
  return {
    id: 'b', held,
    sentence: `(b) ${held ? 'Held' : 'Did not hold'} here after ${r.steps} steps: LISA (${lisa.name}) reached a ${ls.what} of ${pm(ls.s, f4)} ` +
      `against LoRA's (${lora.name}) ${pm(lo.s, f4)} over ${ls.s.n} seed(s)${decisive}${vsFull}.`,
  };
}

function claimC(r: CompareResults): Claim {
  const lisa = byKind(r, 'lisa', 'lisa');
  const lora = byKind(r, 'lora');
  const li = lisa?.memory.measured.total;
  const lo = lora?.memory.measured.total;
  if (!lisa || !lora || !li || !lo) return { id: 'c', held: null, sentence: '(c) Not checked here: it needs a LISA and a LoRA run with logged memory.' };
  const held = li.mean <= lo.mean;
  const share = r.model.embedHeadParams / lisa.trainableParams;
  const est = (lisa.memory.estimate.peakTogether <= lora.memory.estimate.peakTogether) === held;
  const state = (m: MethodResult) => ['gradients', 'optimizer', 'adapters'].reduce((n, c) => n + (m.memory.estimate[c] ?? 0), 0);
  const acts = (m: MethodResult) => m.memory.estimate.activations;
  return {
    id: 'c', held,
    sentence: `(c) ${held ? 'Held' : 'Did not hold'} here: LISA's measured peak was ${mib(li.mean)} against LoRA's ${mib(lo.mean)} ` +
      `(${(li.mean / lo.mean).toFixed(3)}x; the estimate ${est ? 'agrees' : 'disagrees'}: ${mib(lisa.memory.estimate.peakTogether)} vs ${mib(lora.memory.estimate.peakTogether)}). ` +
      `The embedding and head are ${pct(share)} of the ${lisa.trainableParams} parameters LISA trains at a step ` +
      `(${pct(r.model.embedHeadParams / r.model.totalParams)} of the model), so its gradients and AdamW state take ${mib(state(lisa))} ` +
      `against ${mib(state(lora))} for LoRA's ${lora.trainableParams} adapter parameters with theirs; activations take ${mib(acts(lisa))} against ${mib(acts(lora))}.`,
  };
}

export function judgeClaims(r: CompareResults): Claim[] {
  return [claimA(r), claimB(r), claimC(r)];
}
