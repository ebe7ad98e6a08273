// The batched GEMMs and softmax of scaled-dot-product attention over per-head matrices that live at any row
// stride inside their buffers, so heads can be read from and written to a packed (B, T, heads, hs) layout
// without split or merge copies. Used by attention() (dense heads) and qkvAttention() (GPT-2's packed c_attn).
import type { Backend } from '../backends/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { outputLike } from './alloc.js';

/** The matrices of kv head h (0..nkv-1) of batch b in t's buffer: rows x cols starting at
 *  offset + b*bStride + h*hStride, row stride ld (the last dim contiguous). */
export interface Heads { t: Tensor; offset: number; ld: number; hStride: number; bStride: number }

/** Attention dims: B batches of nkv kv heads; each kv head serves `group` query heads, whose rows (group*T) are
 *  read as one matrix of GT rows (GQA, as HF's repeat_kv). */
export interface AttnDims { B: number; nkv: number; GT: number; T: number; Tk: number; hs: number; scale: number; causal: boolean }

/** Dense heads of a contiguous (B, nkv, rows, cols) tensor (rows = group*T for queries). */
export const denseHeads = (t: Tensor, nkv: number, rows: number, cols: number): Heads =>
  ({ t, offset: t.offset, ld: cols, hStride: rows * cols, bStride: nkv * rows * cols });

/** C[b,h] = alpha op(A[b,h]) op(B[b,h]) (beta 0) for every (b, h): one batched GEMM when every operand's batch
 *  stride is nkv head strides (dense), else one batched GEMM (over the kv heads) per b. `triangle`: op(A) is
 *  causal probabilities (or their gradient), 'lower', or their transpose, 'upper' (GemmArgs.triangle); 'output':
 *  only C's causal part is wanted (scores and their gradient, GemmArgs.cLowerOffset). */
function gemmHeads(be: Backend, d: AttnDims, transA: boolean, transB: boolean, M: number, N: number, K: number,
  alpha: number, a: Heads, b: Heads, c: Heads, triangle?: 'lower' | 'upper' | 'output'): void {
  const uniform = [a, b, c].every((x) => x.bStride === d.nkv * x.hStride);
  const [calls, batch] = uniform ? [1, d.B * d.nkv] : [d.B, d.nkv];
  for (let i = 0; i < calls; i++) {
    be.gemm({
      transA, transB, M, N, K, alpha, beta: 0, batch,
      a: a.t.buf, aOffset: a.offset + i * a.bStride, lda: a.ld, aBatchStride: a.hStride,
      b: b.t.buf, bOffset: b.offset + i * b.bStride, ldb: b.ld, bBatchStride: b.hStride,
      c: c.t.buf, cOffset: c.offset + i * c.bStride, ldc: c.ld, cBatchStride: c.hStride,
      ...(triangle === 'output' ? { cLowerOffset: d.Tk - d.T } : triangle ? { triangle, triangleOffset: d.Tk - d.T } : {}),
    });
  }
}

/** Whether the probabilities (GT, Tk) of each head are lower-trapezoidal: row i is zero past column i + Tk - T.
 *  With GQA (GT = group * T) the rows wrap every T, so only a single group qualifies. */
const triangular = (d: AttnDims): boolean => d.causal && d.GT === d.T;

/** out = softmax(scale q kᵀ, causal) v, written into out's heads. Returns the probabilities (B, nkv, GT, Tk),
 *  which the backward reads. */
export function attendHeads(be: Backend, d: AttnDims, q: Heads, k: Heads, v: Heads, out: Heads): Tensor {
  const { B, nkv, GT, T, Tk, hs } = d;
  const scores = outputLike(q.t, [B, nkv, GT, Tk]);
  const sh = denseHeads(scores, nkv, GT, Tk);
  const tri = triangular(d);
  // softmax never reads the masked scores, so they need not be computed.
  gemmHeads(be, d, false, true, GT, Tk, hs, d.scale, q, k, sh, tri ? 'output' : undefined);
  const probs = outputLike(scores);
  be.softmax(scores.buf, probs.buf, B * nkv * GT, Tk, d.causal ? T : 0);
  scores.dispose();
  gemmHeads(be, d, false, false, GT, hs, Tk, 1, denseHeads(probs, nkv, GT, Tk), v, out, tri ? 'lower' : undefined);
  return probs;
}

// d attention: dV = Pᵀ dO; dP = dO Vᵀ; dS = P (dP - rowsum(dP P)); dQ = scale dS K; dK = scale dSᵀ Q
/** Writes the gradients of q, k and v (those given) into their heads, from g (the output's gradient). */
export function attendHeadsBackward(be: Backend, d: AttnDims, q: Heads, k: Heads, v: Heads, probs: Tensor,
  g: Heads, gq: Heads | null, gk: Heads | null, gv: Heads | null): void {
  const { nkv, GT, Tk, hs } = d;
  const ph = denseHeads(probs, nkv, GT, Tk);
  // P and dS = P (dP - rowsum) are zero above the causal diagonal: the products through them skip those terms.
  const [lower, upper] = triangular(d) ? ['lower', 'upper'] as const : [undefined, undefined];
  if (gv) gemmHeads(be, d, true, false, Tk, hs, GT, 1, ph, g, gv, upper);
  if (!gq && !gk) return;
  const gp = outputLike(probs);
  // dP past the diagonal meets P = 0 (dS = P (dP - rowsum(dP P))): zeros there leave dS unchanged.
  const out = triangular(d) ? 'output' as const : undefined;
  gemmHeads(be, d, false, true, GT, Tk, hs, 1, g, v, denseHeads(gp, nkv, GT, Tk), out);
  const gs = outputLike(probs);
  be.softmaxBackward(probs.buf, gp.buf, gs.buf, d.B * nkv * GT, Tk);
  gp.dispose();
  const sh = denseHeads(gs, nkv, GT, Tk);
  if (gq) gemmHeads(be, d, false, false, GT, hs, Tk, d.scale, sh, k, gq, lower);
  if (gk) gemmHeads(be, d, true, false, Tk, hs, GT, d.scale, sh, q, gk, upper);
  gs.dispose();
}
