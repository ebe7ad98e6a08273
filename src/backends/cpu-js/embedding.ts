// cpu-js embedding gather and its scatter-add backward.
import type { Buf } from '../backend.js';

export function embedding(weight: Buf, ids: Int32Array, n: number, C: number, out: Buf): void {
  for (let i = 0; i < n; i++) {
    const src = ids[i]! * C, dst = i * C;
    for (let c = 0; c < C; c++) out[dst + c] = weight[src + c]!;
  }
}

// d embedding: dweight[ids[i], :] += g[i, :]
export function embeddingBackward(ids: Int32Array, g: Buf, n: number, C: number, dweight: Buf): void {
  for (let i = 0; i < n; i++) {
    const dst = ids[i]! * C, src = i * C;
    for (let c = 0; c < C; c++) dweight[dst + c] += g[src + c]!;
  }
}
