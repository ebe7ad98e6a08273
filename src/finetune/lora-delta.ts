// A LoRA adapter's weight update scale * B @ A and the squared Frobenius norms it gives: of the update itself
// and of the merged weight W + update, with W in its stored layout ((out, in), or (in, out) for GPT-2's Conv1D).
import { scope } from '../tensor/scope.js';
import { noGrad } from '../autograd/tape.js';
import { matmul, tensor } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';

/** scale * B @ A as (out, in) row-major values; A is (r, in), B is (out, r) (tensors, or values with shapes). */
export function loraDelta(a: Tensor, b: Tensor, scale: number): Float32Array {
  return scope(() => noGrad(() => {
    const ba = matmul(b, a).toTypedArray(); // (out, in)
    const out = ba instanceof Float32Array ? ba : Float32Array.from(ba);
    for (let i = 0; i < out.length; i++) out[i] *= scale;
    return out;
  }));
}

/** loraDelta from plain arrays: a holds (r, in) values, b holds (out, r). */
export function loraDeltaFromValues(a: Float32Array, b: Float32Array, r: number, inF: number, outF: number, scale: number): Float32Array {
  return scope(() => loraDelta(tensor(a, [r, inF]), tensor(b, [outF, r]), scale));
}

/** Sum of squares in float64. */
export function sumSquares(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** Squared norms of the merged weight W + delta and of the delta. w is stored (out, in) when layout is 'out_in',
 *  (in, out) when 'in_out'; delta is always (out, in). */
export function mergedSquares(w: ArrayLike<number>, delta: Float32Array, outF: number, inF: number, layout: 'out_in' | 'in_out'): { merged: number; update: number } {
  let merged = 0;
  for (let o = 0; o < outF; o++) {
    for (let i = 0; i < inF; i++) {
      const v = (layout === 'out_in' ? w[o * inF + i] : w[i * outF + o]) + delta[o * inF + i];
      merged += v * v;
    }
  }
  return { merged, update: sumSquares(delta) };
}
