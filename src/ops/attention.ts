// Fused scaled-dot-product self-attention with a causal mask and grouped-query heads (GQA): each group of
// nh / nkv query heads shares one key/value head, as HF's repeat_kv; and its form for GPT-2's packed q|k|v
// projection. Both run the backend's fused kernel (Backend.attention), which keeps no (T, Tk) matrix: backward
// recomputes the probabilities from two saved numbers per query row.
import type { AttentionArgs, AttnHeads } from '../backends/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { ArgumentError, ShapeError } from '../util/errors.js';
import { fmtShape } from '../util/shape.js';
import { checkNumber, checkOpts, checkRank, checkSame, checkTensor } from './validate.js';
import { copies, dense, outputLike } from './alloc.js';

/** The heads of a contiguous (B, nkv, rows, cols) tensor (rows = group * T for queries). */
const denseHeads = (t: Tensor, nkv: number, rows: number, cols: number): AttnHeads =>
  ({ buf: t.buf, offset: t.offset, ld: cols, hStride: rows * cols, bStride: nkv * rows * cols });

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
  if (Tk === 0 && T > 0) throw new ShapeError('attention: k and v have no keys (Tk = 0)');
  const scale = checkNumber('attention', 'scale', opts.scale ?? 1 / Math.sqrt(hs));
  const GT = (nh / nkv) * T; // q viewed as (B, nkv, group*T, hs)
  const be = q.backend;
  const qd = dense(q);
  const kd = dense(k);
  const vd = dense(v);
  const heads = (t: Tensor, rows: number) => denseHeads(t, nkv, rows, hs);
  const out = outputLike(q); // (B, nh, T, hs)
  const dims = { B, nkv, GT, T, Tk, hs, scale, causal };
  const stats = outputLike(q, [B, nkv, GT, 2]); // the softmax statistics the backward reads
  const a: AttentionArgs = { ...dims, q: heads(qd, GT), k: heads(kd, Tk), v: heads(vd, Tk), stats: stats.buf };
  if (hs > 0 && GT > 0) be.attention(a, heads(out, GT));
  return record(out, 'attention', [q, k, v], (g, needs) => {
    const gd = dense(g);
    const gq = needs[0] ? outputLike(q) : null;
    const gk = needs[1] ? outputLike(k) : null;
    const gv = needs[2] ? outputLike(v) : null;
    if (hs > 0 && GT > 0) be.attentionBackward(a, heads(gd, GT), gq && heads(gq, GT), gk && heads(gk, Tk), gv && heads(gv, Tk));
    else for (const t of [gq, gk, gv]) if (t) be.fill(t.buf, 0); // no queries: zero gradients (or empty ones)
    return [gq, gk, gv];
  }, [qd, kd, vd, stats], [stats, ...copies([qd, q], [kd, k], [vd, v])]);
}

/** GPT-2's self-attention straight from the packed c_attn output: qkv (B, T, 3*C) holding q, k and v (each nh
 *  heads of hs = C/nh) along its last dim -> (B, T, C), the heads merged. The same as splitting qkv into
 *  (B, nh, T, hs) heads, attention() and merging them back, without the split and merge copies in forward or
 *  backward: the GEMMs read and write the heads where they lie. */
export function qkvAttention(qkv: Tensor, nh: number, opts: AttentionOpts = {}): Tensor {
  checkTensor('qkvAttention', 'qkv', qkv);
  opts = checkOpts('qkvAttention', opts);
  checkRank('qkvAttention', 'qkv', qkv, 3);
  checkNumber('qkvAttention', 'nh', nh, { integer: true, min: 1 });
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  if (!Number.isInteger(C) || C % nh !== 0) {
    throw new ShapeError(`qkvAttention: qkv ${fmtShape(qkv.shape)} must be (B, T, 3*C) with C a multiple of ${nh} heads`);
  }
  const causal = opts.causal ?? true;
  if (typeof causal !== 'boolean') throw new ArgumentError('qkvAttention: causal must be a boolean');
  const hs = C / nh;
  const scale = checkNumber('qkvAttention', 'scale', opts.scale ?? 1 / Math.sqrt(hs));
  const be = qkv.backend;
  const xd = dense(qkv);
  // Head h of q, k or v (part 0, 1, 2) in a (B, T, 3C) buffer: rows t at stride 3C, from column part*C + h*hs.
  const part = (t: Tensor, i: number): AttnHeads => ({ buf: t.buf, offset: t.offset + i * C, ld: 3 * C, hStride: hs, bStride: T * 3 * C });
  const merged = (t: Tensor): AttnHeads => ({ buf: t.buf, offset: t.offset, ld: C, hStride: hs, bStride: T * C }); // (B, T, C)
  const out = outputLike(qkv, [B, T, C]);
  const dims = { B, nkv: nh, GT: T, T, Tk: T, hs, scale, causal };
  const stats = outputLike(qkv, [B, nh, T, 2]);
  const a: AttentionArgs = { ...dims, q: part(xd, 0), k: part(xd, 1), v: part(xd, 2), stats: stats.buf };
  if (hs > 0 && T > 0) be.attention(a, merged(out));
  return record(out, 'qkvAttention', [qkv], (g) => {
    const gd = dense(g);
    const gx = outputLike(qkv); // its three parts are written in full
    if (hs > 0 && T > 0) be.attentionBackward(a, merged(gd), part(gx, 0), part(gx, 1), part(gx, 2));
    return [gx];
  }, [xd, stats], [stats, ...copies([xd, qkv])]);
}
