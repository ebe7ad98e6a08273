// Fused scaled-dot-product self-attention with a causal mask and grouped-query heads (GQA): each group of
// nh / nkv query heads shares one key/value head, as HF's repeat_kv. Saves the probabilities for backward.
import type { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { ArgumentError, ShapeError } from '../util/errors.js';
import { fmtShape } from '../util/shape.js';
import { checkNumber, checkOpts, checkRank, checkSame, checkTensor } from './validate.js';
import { copies, dense, outputLike } from './alloc.js';

export interface AttentionOpts {
  /** Mask future keys (default true). With a longer key axis (KV cache), query t sees keys <= t + Tk - T. */
  causal?: boolean;
  /** Score scale; default 1/sqrt(hs). */
  scale?: number;
}

/** q (B, nh, T, hs), k and v (B, nkv, Tk, hs), nh a multiple of nkv -> (B, nh, T, hs). */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOpts = {}): Tensor {
  checkTensor('attention', 'q', q);
  checkTensor('attention', 'k', k);
  checkTensor('attention', 'v', v);
  checkSame('attention', { q, k, v });
  opts = checkOpts('attention', opts);
  checkRank('attention', 'q', q, 4);
  checkRank('attention', 'k', k, 4);
  checkRank('attention', 'v', v, 4);
  const [B, nh, T, hs] = q.shape;
  const [Bk, nkv, Tk, hsk] = k.shape;
  if (Bk !== B || hsk !== hs || v.shape.some((d, i) => d !== k.shape[i])) {
    throw new ShapeError(`attention: q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)} and v ${fmtShape(v.shape)} must be (B, nh, T, hs), (B, nkv, Tk, hs), (B, nkv, Tk, hs)`);
  }
  if (nkv === 0 || nh % nkv !== 0) throw new ShapeError(`attention: ${nh} query heads are not a multiple of ${nkv} key/value heads`);
  const causal = opts.causal ?? true;
  if (typeof causal !== 'boolean') throw new ArgumentError('attention: causal must be a boolean');
  if (causal && Tk < T) throw new ShapeError(`attention: causal attention needs at least as many keys (${Tk}) as queries (${T})`);
  const scale = checkNumber('attention', 'scale', opts.scale ?? 1 / Math.sqrt(hs));
  const group = nh / nkv;
  const batch = B * nkv;
  const GT = group * T; // query rows per kv head: q viewed as (B*nkv, group*T, hs)
  const be = q.backend;
  const qd = dense(q);
  const kd = dense(k);
  const vd = dense(v);
  const gemm = (transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    a: Tensor, b: Tensor, c: Tensor) => be.gemm({
    transA, transB, M, N, K, alpha, beta: 0, batch,
    a: a.buf, aOffset: 0, lda: transA ? M : K, aBatchStride: M * K,
    b: b.buf, bOffset: 0, ldb: transB ? K : N, bBatchStride: K * N,
    c: c.buf, cOffset: 0, ldc: N, cBatchStride: M * N,
  });
  const scores = outputLike(q, [B, nh, T, Tk]); // (B*nkv, GT, Tk)
  gemm(false, true, GT, Tk, hs, scale, qd, kd, scores);
  const probs = outputLike(scores);
  be.softmax(scores.buf, probs.buf, B * nh * T, Tk, causal ? T : 0);
  scores.dispose();
  const out = outputLike(q); // (B*nkv, GT, hs)
  gemm(false, false, GT, hs, Tk, 1, probs, vd, out);
  // d attention: dV = Pᵀ dO; dP = dO Vᵀ; dS = P (dP - rowsum(dP P)); dQ = scale dS K; dK = scale dSᵀ Q
  return record(out, 'attention', [q, k, v], (g, needs) => {
    const gd = dense(g);
    let gv: Tensor | null = null;
    if (needs[2]) {
      gv = outputLike(v);
      gemm(true, false, Tk, hs, GT, 1, probs, gd, gv);
    }
    let gq: Tensor | null = null;
    let gk: Tensor | null = null;
    if (needs[0] || needs[1]) {
      const gp = outputLike(probs);
      gemm(false, true, GT, Tk, hs, 1, gd, vd, gp);
      const gs = outputLike(probs);
      be.softmaxBackward(probs.buf, gp.buf, gs.buf, B * nh * T, Tk);
      if (needs[0]) {
        gq = outputLike(q);
        gemm(false, false, GT, hs, Tk, scale, gs, kd, gq);
      }
      if (needs[1]) {
        gk = outputLike(k);
        gemm(true, false, Tk, hs, GT, scale, gs, qd, gk);
      }
    }
    return [gq, gk, gv];
  }, [qd, kd, vd, probs], [probs, ...copies([qd, q], [kd, k], [vd, v])]);
}
