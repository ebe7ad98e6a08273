// sum and mean over dims (keepdim optional).
import type { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { ArgumentError } from '../util/errors.js';
import { normDim } from '../util/shape.js';
import { checkTensor } from './validate.js';
import { dense, outputLike, release } from './alloc.js';
import { expand, reshape } from './view.js';
import { scale } from './unary.js';

function reduceDims(op: string, x: Tensor, dims: number | readonly number[] | undefined): boolean[] {
  const keep = new Array<boolean>(x.rank).fill(dims === undefined ? false : true);
  if (dims !== undefined) {
    if (typeof dims !== 'number' && !Array.isArray(dims)) throw new ArgumentError(`${op}: dims must be a number or an array of numbers`);
    for (const d of typeof dims === 'number' ? [dims] : dims) keep[normDim(op, d, x.rank)] = false;
  }
  return keep;
}

/** Sum over dims (all dims when omitted). */
export function sum(x: Tensor, dims?: number | readonly number[], keepdim = false): Tensor {
  checkTensor('sum', 'x', x);
  const keep = reduceDims('sum', x, dims);
  const keptShape = x.shape.map((d, i) => (keep[i] ? d : 1));
  const xd = dense(x);
  const out = outputLike(x, keptShape);
  x.backend.sumReduce(xd.buf, x.shape, keep, out.buf);
  release(xd, x);
  let result = out;
  if (!keepdim) {
    result = reshape(out, x.shape.filter((_, i) => keep[i]));
    out.dispose();
  }
  // d sum: broadcast g back to x's shape
  return record(result, 'sum', [x], (g) => [expand(reshape(g, keptShape), x.shape)]);
}

/** Mean over dims (all dims when omitted). */
export function mean(x: Tensor, dims?: number | readonly number[], keepdim = false): Tensor {
  const keep = reduceDims('mean', checkTensor('mean', 'x', x), dims);
  const count = x.shape.reduce((n, d, i) => (keep[i] ? n : n * d), 1);
  return scale(sum(x, dims, keepdim), 1 / count);
}
