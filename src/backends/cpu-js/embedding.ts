// cpu-js embedding gather and its scatter-add backward.
import type { Bf16Buf, Buf } from '../backend.js';

export function embedding(weight: Buf | Bf16Buf, ids: Int32Array, n: number, C: number, out: Buf): void {
  if (weight instanceof Uint16Array) {
    // bfloat16 weight: each gathered value widened exactly (the bits are the top half of a float32).
    const out32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
    if (!(out instanceof Float32Array)) throw new Error('internal: a bfloat16 embedding gathers into float32');
    for (let i = 0; i < n; i++) {
      const src = ids[i]! * C, dst = i * C;
      for (let c = 0; c < C; c++) out32[dst + c] = weight[src + c]! << 16;
    }
    return;
  }
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
