// cpu-js reductions: sumReduce over a dim mask, and sumSquares. Both accumulate in float64.
import type { Buf } from '../backend.js';
import { nextIndex } from './strided.js';

/** Sums contiguous x over dims where keep[d] is false into contiguous out (reduced dims have size 1). */
export function sumReduce(x: Buf, shape: readonly number[], keep: readonly boolean[], out: Buf): void {
  const r = shape.length;
  // Strides of out indexed by the input's dims: 0 on reduced dims.
  const outStrides = new Array<number>(r).fill(0);
  let outSize = 1;
  for (let d = r - 1; d >= 0; d--) {
    if (keep[d]) { outStrides[d] = outSize; outSize *= shape[d]!; }
  }
  const acc = new Float64Array(outSize);
  let n = 1;
  for (const s of shape) n *= s;
  if (n > 0 && r > 0) {
    const inner = shape[r - 1]!, os = outStrides[r - 1]!;
    const counter = new Array<number>(r - 1).fill(0);
    let xi = 0;
    do {
      let oi = 0;
      for (let d = 0; d < r - 1; d++) oi += counter[d]! * outStrides[d]!;
      for (let i = 0; i < inner; i++, oi += os) acc[oi] += x[xi++]!;
    } while (nextIndex(counter, shape, r - 1));
  } else if (n > 0) {
    acc[0] = x[0]!;
  }
  for (let i = 0; i < outSize; i++) out[i] = acc[i]!;
}

export function sumSquares(x: Buf, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]! * x[i]!;
  return s;
}
