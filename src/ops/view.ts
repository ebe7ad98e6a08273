// Views and copies: reshape, transpose, permute, slice, expand, contiguous. Views share storage.
import { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { ArgumentError, IndexError, ShapeError } from '../util/errors.js';
import { checkShape, contiguousStrides, fmtShape, normDim, numel } from '../util/shape.js';
import { checkTensor } from './validate.js';
import { emptyLike, outputLike } from './alloc.js';

function viewOf(x: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  return new Tensor({ storage: x.storage, shape, strides, offset, dtype: x.dtype, backend: x.backend });
}

/** Unrecorded contiguous copy (or x itself when already contiguous... always a new tensor object). */
function copyContiguous(x: Tensor): Tensor {
  const out = outputLike(x);
  x.backend.copyStrided(x.buf, x.offset, x.strides, out.buf, 0, contiguousStrides(x.shape), x.shape);
  return out;
}

/** New shape with the same elements; one dim may be -1. A view when x is contiguous, else a copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('reshape', 'x', x);
  if (!Array.isArray(shape)) throw new ArgumentError(`reshape: shape must be an array, got ${typeof shape}`);
  const s = [...shape];
  const inferred = s.indexOf(-1);
  if (inferred !== s.lastIndexOf(-1)) throw new ShapeError(`reshape: only one dim may be -1 in ${fmtShape(shape)}`);
  if (inferred >= 0) {
    const rest = numel(s.filter((_, i) => i !== inferred));
    if (rest === 0 || x.size % rest !== 0) throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
    s[inferred] = x.size / rest;
  }
  checkShape('reshape', s);
  if (numel(s) !== x.size) throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(s)}`);
  let out: Tensor;
  if (x.isContiguous()) out = viewOf(x, s, contiguousStrides(s), x.offset);
  else {
    const c = copyContiguous(x);
    out = viewOf(c, s, contiguousStrides(s), 0);
    c.dispose();
  }
  // d reshape: g reshaped back
  return record(out, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

/** Reorders dims: out.shape[i] = x.shape[perm[i]]. A view. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  checkTensor('permute', 'x', x);
  if (!Array.isArray(perm) || perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new ArgumentError(`permute: ${JSON.stringify(perm)} is not a permutation of the ${x.rank} dims of ${fmtShape(x.shape)}`);
  }
  const out = viewOf(x, perm.map((p) => x.shape[p]), perm.map((p) => x.strides[p]), x.offset);
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  // d permute: g permuted by the inverse permutation
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}

/** Swaps two dims. A view. */
export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  checkTensor('transpose', 'x', x);
  const a = normDim('transpose', d0, x.rank);
  const b = normDim('transpose', d1, x.rank);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Elements start <= i < end along dim (negative indices count from the end). A view. */
export function slice(x: Tensor, dim: number, start: number, end: number): Tensor {
  checkTensor('slice', 'x', x);
  const d = normDim('slice', dim, x.rank);
  const n = x.shape[d];
  const s = start < 0 ? start + n : start;
  const e = end < 0 ? end + n : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > n || s > e) {
    throw new IndexError(`slice: [${start}, ${end}) is out of range for dim ${dim} of size ${n} in ${fmtShape(x.shape)}`);
  }
  const shape = [...x.shape];
  shape[d] = e - s;
  const out = viewOf(x, shape, x.strides, x.offset + s * x.strides[d]);
  // d slice: g placed into zeros of x's shape
  return record(out, 'slice', [x], (g) => {
    const gx = emptyLike(g, x.shape);
    const strides = contiguousStrides(x.shape);
    g.backend.copyStrided(g.buf, g.offset, g.strides, gx.buf, s * strides[d], strides, g.shape);
    return [gx];
  });
}

/** Broadcasts size-1 dims (and new leading dims) to shape, as a stride-0 view. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('expand', 'x', x);
  shape = checkShape('expand', shape);
  const lead = shape.length - x.rank;
  if (lead < 0) throw new ShapeError(`expand: cannot expand ${fmtShape(x.shape)} to fewer dims ${fmtShape(shape)}`);
  const strides = shape.map((d, i) => {
    if (i < lead) return 0;
    const xd = x.shape[i - lead];
    if (xd === d) return x.strides[i - lead];
    if (xd === 1) return 0;
    throw new ShapeError(`expand: cannot expand ${fmtShape(x.shape)} to ${fmtShape(shape)} (dim ${i}: ${xd} vs ${d})`);
  });
  const out = viewOf(x, shape, strides, x.offset);
  // d expand: g summed over the broadcast dims (sumReduce, then drop the new leading dims)
  return record(out, 'expand', [x], (g) => {
    const keep = shape.map((d, i) => i >= lead && x.shape[i - lead] === d);
    const gd = g.isDense() ? g : copyContiguous(g);
    const gx = outputLike(g, x.shape);
    g.backend.sumReduce(gd.buf, shape, keep, gx.buf);
    return [gx];
  });
}

/** A contiguous tensor with x's values (a copy when x is a non-contiguous view, else a view of x). */
export function contiguous(x: Tensor): Tensor {
  checkTensor('contiguous', 'x', x);
  const out = x.isContiguous() ? viewOf(x, x.shape, x.strides, x.offset) : copyContiguous(x);
  // d contiguous: g
  return record(out, 'contiguous', [x], (g) => [g]);
}
