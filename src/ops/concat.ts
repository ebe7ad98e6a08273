// concat: joins tensors along one dim into a new contiguous tensor.
import type { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { ArgumentError, ShapeError } from '../util/errors.js';
import { contiguousStrides, fmtShape, normDim } from '../util/shape.js';
import { checkSame, checkTensor } from './validate.js';
import { outputLike } from './alloc.js';
import { slice } from './view.js';

export function concat(xs: readonly Tensor[], dim: number): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new ArgumentError('concat: expects a non-empty array of tensors');
  xs.forEach((x, i) => checkTensor('concat', `xs[${i}]`, x));
  checkSame('concat', Object.fromEntries(xs.map((x, i) => [`xs[${i}]`, x])));
  const d = normDim('concat', dim, xs[0].rank);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (x.rank !== xs[0].rank || x.shape.some((s: number, k: number) => k !== d && s !== xs[0].shape[k])) {
      throw new ShapeError(`concat: xs[${i}] ${fmtShape(x.shape)} does not match xs[0] ${fmtShape(xs[0].shape)} outside dim ${d}`);
    }
  }
  const shape = [...xs[0].shape];
  shape[d] = xs.reduce((n, x) => n + x.shape[d], 0);
  const out = outputLike(xs[0], shape);
  const strides = contiguousStrides(shape);
  const starts: number[] = [];
  let at = 0;
  for (const x of xs) {
    starts.push(at);
    x.backend.copyStrided(x.buf, x.offset, x.strides, out.buf, at * strides[d], strides, x.shape);
    at += x.shape[d];
  }
  // d concat: the slice of g for each input
  return record(out, 'concat', xs, (g, needs) =>
    xs.map((x, i) => (needs[i] ? slice(g, d, starts[i], starts[i] + x.shape[d]) : null)));
}
