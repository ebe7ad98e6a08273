// cpu-js row kernels: softmax (optionally causal) and cross-entropy, forward and backward.
import type { Buf } from '../backend.js';

/** Last unmasked column of row r: the query at r % causalT sees keys up to its own position. */
function lastCol(r: number, cols: number, causalT: number): number {
  return causalT > 0 ? (r % causalT) + cols - causalT : cols - 1;
}

export function softmax(x: Buf, out: Buf, rows: number, cols: number, causalT: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const last = Math.min(lastCol(r, cols, causalT), cols - 1);
    let max = -Infinity;
    for (let c = 0; c <= last; c++) if (x[o + c]! > max) max = x[o + c]!;
    let sum = 0;
    for (let c = 0; c <= last; c++) sum += Math.exp(x[o + c]! - max);
    const inv = 1 / sum;
    for (let c = 0; c <= last; c++) out[o + c] = Math.exp(x[o + c]! - max) * inv;
    for (let c = Math.max(last + 1, 0); c < cols; c++) out[o + c] = 0;
  }
}

// d softmax: y * (g - sum(g*y))
export function softmaxBackward(y: Buf, g: Buf, dx: Buf, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += g[o + c]! * y[o + c]!;
    for (let c = 0; c < cols; c++) dx[o + c] = y[o + c]! * (g[o + c]! - dot);
  }
}

/** logsumexp of row r of (rows, V). */
function rowLse(x: Buf, o: number, V: number): number {
  let max = -Infinity;
  for (let c = 0; c < V; c++) if (x[o + c]! > max) max = x[o + c]!;
  let sum = 0;
  for (let c = 0; c < V; c++) sum += Math.exp(x[o + c]! - max);
  return max + Math.log(sum);
}

export function crossEntropy(logits: Buf, targets: Int32Array, rows: number, V: number, ignoreIndex: number,
  losses: Buf, lse: Buf): void {
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    const l = rowLse(logits, o, V);
    lse[r] = l;
    const t = targets[r]!;
    losses[r] = t === ignoreIndex ? 0 : l - logits[o + t]!;
  }
}

// d CE: (softmax(logits) - onehot(target)) * scale
export function crossEntropyBackward(logits: Buf, lse: Buf, targets: Int32Array, rows: number, V: number,
  ignoreIndex: number, scale: Buf, dlogits: Buf): void {
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    const t = targets[r]!;
    if (t === ignoreIndex) {
      for (let c = 0; c < V; c++) dlogits[o + c] = 0;
      continue;
    }
    const l = lse[r]!, s = scale[r]!;
    for (let c = 0; c < V; c++) dlogits[o + c] = (Math.exp(logits[o + c]! - l) - (c === t ? 1 : 0)) * s;
  }
}
