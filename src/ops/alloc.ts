// Output allocation and dense copies for ops (kernels take contiguous buffers starting at index 0).
import { Tensor } from '../tensor/tensor.js';
import { bf16BitsArrayToF32 } from '../util/bf16.js';
import { DTypeError } from '../util/errors.js';
import { contiguousStrides, type Shape } from '../util/shape.js';

/** A new zeroed tensor with like's dtype and backend. */
export function emptyLike(like: Tensor, shape: Shape = like.shape): Tensor {
  return Tensor.empty(shape, { dtype: like.dtype, backend: like.backend });
}

/** A new tensor with like's dtype and backend whose contents are unspecified: for an output that the kernel
 *  called next writes in full (GEMM with beta 0, elementwise, copies, row kernels). */
export function outputLike(like: Tensor, shape: Shape = like.shape): Tensor {
  return Tensor.empty(shape, { dtype: like.dtype, backend: like.backend, uninitialized: true });
}

/** t itself when dense, else a dense copy (the caller disposes it when it is not t). */
export function dense(t: Tensor): Tensor {
  if (t.isDense()) return t;
  if (t.dtype === 'bfloat16') throw new DTypeError(`bfloat16 tensor ${t.describe()} must be dense (a stored weight, not a view)`);
  const out = outputLike(t);
  t.backend.copyStrided(t.buf, t.offset, t.strides, out.buf, 0, contiguousStrides(t.shape), t.shape);
  return out;
}

/** The dense() results that are copies (temporaries), given [dense, original] pairs. */
export function copies(...pairs: [Tensor, Tensor][]): Tensor[] {
  return pairs.filter(([d, t]) => d !== t).map(([d]) => d);
}

/** Disposes temporaries made by dense() (those that are not the original). */
export function release(tmp: Tensor, original: Tensor): void {
  if (tmp !== original) tmp.dispose();
}

/** A dense float32 view of t: t itself when dense float32; a bfloat16 t (a small weight: a norm's weight or bias,
 *  a bias) widened into a new temporary (the caller releases it as for dense()). */
export function denseF32(t: Tensor): Tensor {
  if (t.dtype !== 'bfloat16') return dense(t);
  const bits = dense(t).bits;
  const out = Tensor.empty(t.shape, { dtype: 'float32', backend: t.backend, uninitialized: true });
  bf16BitsArrayToF32(bits, out.buf as Float32Array);
  return out;
}

/** The weight buffer a GEMM or gather reads: float32 data or bfloat16 bits (the kernel widens them). */
export function weightBuf(t: Tensor): Tensor['buf'] | Uint16Array {
  return t.dtype === 'bfloat16' ? t.bits : t.buf;
}
