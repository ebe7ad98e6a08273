// cpu-js attention: scaled-dot-product attention row by row in float64 (scores, softmax and products), the
// reference the native fused kernel is checked against.
import type { AttentionArgs, AttnHeads } from '../backend.js';

/** Index of element (row r, column 0) of kv head h of batch b in x's buffer. */
const at = (x: AttnHeads, b: number, h: number, r: number): number => x.offset + b * x.bStride + h * x.hStride + r * x.ld;

/** Last key row r sees. */
const lastKey = (a: AttentionArgs, r: number): number => (a.causal ? (r % a.T) + a.Tk - a.T : a.Tk - 1);

/** p[j] = exp(scale q_r·k_j - max) * inv for j <= last (the softmax of row r); writes stats when `write`, else
 *  reads max and inv from them (the backward). Returns last. */
function rowProbs(a: AttentionArgs, b: number, h: number, r: number, p: Float64Array, write: boolean): number {
  const { q, k, hs, scale, stats } = a;
  const last = lastKey(a, r);
  const qi = at(q, b, h, r);
  let max = -Infinity;
  for (let j = 0; j <= last; j++) {
    const kj = at(k, b, h, j);
    let s = 0;
    for (let d = 0; d < hs; d++) s += q.buf[qi + d]! * k.buf[kj + d]!;
    p[j] = scale * s;
    if (p[j]! > max) max = p[j]!;
  }
  const si = 2 * ((b * a.nkv + h) * a.GT + r);
  if (write) {
    let sum = 0;
    for (let j = 0; j <= last; j++) sum += Math.exp(p[j]! - max);
    stats[si] = max;
    stats[si + 1] = 1 / sum;
  }
  const m = stats[si]!, inv = stats[si + 1]!;
  for (let j = 0; j <= last; j++) p[j] = Math.exp(p[j]! - m) * inv;
  return last;
}

export function attention(a: AttentionArgs, out: AttnHeads): void {
  const { B, nkv, GT, hs, v } = a;
  const p = new Float64Array(a.Tk), o = new Float64Array(hs);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nkv; h++) {
      for (let r = 0; r < GT; r++) {
        const last = rowProbs(a, b, h, r, p, true);
        o.fill(0);
        for (let j = 0; j <= last; j++) {
          const vj = at(v, b, h, j);
          for (let d = 0; d < hs; d++) o[d] += p[j]! * v.buf[vj + d]!;
        }
        out.buf.set(o, at(out, b, h, r));
      }
    }
  }
}

// d attention per row r: dV_j += p_j g_r; dp_j = g_r·v_j; ds_j = p_j (dp_j - sum_j p_j dp_j);
// dQ_r = scale sum_j ds_j k_j; dK_j += scale ds_j q_r.
export function attentionBackward(a: AttentionArgs, g: AttnHeads, dq: AttnHeads | null, dk: AttnHeads | null,
  dv: AttnHeads | null): void {
  const { B, nkv, GT, Tk, hs, scale, q, k, v } = a;
  const p = new Float64Array(Tk), ds = new Float64Array(Tk), dqr = new Float64Array(hs);
  const dkAcc = new Float64Array(Tk * hs), dvAcc = new Float64Array(Tk * hs);
  const store = (dst: AttnHeads, b: number, h: number, acc: Float64Array) => {
    for (let j = 0; j < Tk; j++) dst.buf.set(acc.subarray(j * hs, (j + 1) * hs), at(dst, b, h, j));
  };
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nkv; h++) {
      dkAcc.fill(0);
      dvAcc.fill(0);
      for (let r = 0; r < GT; r++) {
        const last = rowProbs(a, b, h, r, p, false);
        const gi = at(g, b, h, r), qi = at(q, b, h, r);
        let dot = 0;
        for (let j = 0; j <= last; j++) {
          const vj = at(v, b, h, j);
          let dp = 0;
          for (let d = 0; d < hs; d++) {
            dp += g.buf[gi + d]! * v.buf[vj + d]!;
            dvAcc[j * hs + d] += p[j]! * g.buf[gi + d]!;
          }
          ds[j] = dp;
          dot += p[j]! * dp;
        }
        dqr.fill(0);
        for (let j = 0; j <= last; j++) {
          const s = scale * p[j]! * (ds[j]! - dot), kj = at(k, b, h, j);
          for (let d = 0; d < hs; d++) {
            dqr[d] += s * k.buf[kj + d]!;
            dkAcc[j * hs + d] += s * q.buf[qi + d]!;
          }
        }
        if (dq) dq.buf.set(dqr, at(dq, b, h, r));
      }
      if (dk) store(dk, b, h, dkAcc);
      if (dv) store(dv, b, h, dvAcc);
    }
  }
}
