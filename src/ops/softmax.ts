// softmax over the last dim, optionally with a causal mask, with a fused backward kernel.
import type { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { checkMinRank, checkOpts, checkTensor } from './validate.js';
import { ArgumentError } from '../util/errors.js';
import { dense, outputLike, release } from './alloc.js';

export interface SoftmaxOpts {
  /** Causal mask for (..., T, Tk) scores: a query at position t sees keys up to t + Tk - T. */
  causal?: boolean;
}

export function softmax(x: Tensor, opts: SoftmaxOpts = {}): Tensor {
  checkTensor('softmax', 'x', x);
  opts = checkOpts('softmax', opts);
  if (opts.causal !== undefined && typeof opts.causal !== 'boolean') throw new ArgumentError('softmax: causal must be a boolean');
  checkMinRank('softmax', 'x', x, opts.causal ? 2 : 1);
  const cols = x.shape[x.rank - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  const causalT = opts.causal ? x.shape[x.rank - 2] : 0;
  const xd = dense(x);
  const y = outputLike(x);
  x.backend.softmax(xd.buf, y.buf, rows, cols, causalT);
  release(xd, x);
  // d softmax: y * (g - sum(g * y))
  return record(y, 'softmax', [x], (g) => {
    const gd = dense(g);
    const gx = outputLike(x);
    x.backend.softmaxBackward(y.buf, gd.buf, gx.buf, rows, cols);
    return [gx];
  }, [y]);
}
