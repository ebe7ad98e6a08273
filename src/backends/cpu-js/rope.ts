// cpu-js rotary position embedding on (outer, T, hs): HF rotate-half or interleaved pairs; inverse = backward.
import type { Buf } from '../backend.js';

// Each pair (x1, x2) at position t, frequency i: (x1*cos - x2*sin, x2*cos + x1*sin); inverse negates sin.
export function rope(x: Buf, cos: Buf, sin: Buf, outer: number, T: number, hs: number, halfSplit: boolean,
  inverse: boolean, out: Buf): void {
  const half = hs / 2;
  const sign = inverse ? -1 : 1;
  // Element indices of pair i within a head vector: (i, i + half) or (2i, 2i + 1).
  const step1 = halfSplit ? 1 : 2, gap = halfSplit ? half : 1;
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < T; t++) {
      const base = (o * T + t) * hs, cs = t * half;
      for (let i = 0; i < half; i++) {
        const i1 = base + i * step1, i2 = i1 + gap;
        const c = cos[cs + i]!, s = sign * sin[cs + i]!;
        const x1 = x[i1]!, x2 = x[i2]!;
        out[i1] = x1 * c - x2 * s;
        out[i2] = x2 * c + x1 * s;
      }
    }
  }
}
