// Output allocation and dense copies for ops (kernels take contiguous buffers starting at index 0).
import { Tensor } from '../tensor/tensor.js';
import { contiguousStrides, type Shape } from '../util/shape.js';

/** A new zeroed tensor with like's dtype and backend. */
export function emptyLike(like: Tensor, shape: Shape = like.shape): Tensor {
  return Tensor.empty(shape, { dtype: like.dtype, backend: like.backend });
}

/** t itself when dense, else a dense copy (the caller disposes it when it is not t). */
export function dense(t: Tensor): Tensor {
  if (t.isDense()) return t;
  const out = emptyLike(t);
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
