// Seeded inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p).
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import { ArgumentError } from '../util/errors.js';
import { checkNumber, checkTensor } from './validate.js';
import { outputLike } from './alloc.js';
import { mul } from './binary.js';
import { contiguous } from './view.js';

/** Identity when p == 0 or not training; the mask comes from rng, so a seed reproduces it. */
export function dropout(x: Tensor, p: number, rng: Rng, training = true): Tensor {
  checkTensor('dropout', 'x', x);
  checkNumber('dropout', 'p', p, { min: 0, max: 1 });
  if (p === 1) throw new ArgumentError('dropout: p must be < 1');
  if (!(rng instanceof Rng)) throw new ArgumentError('dropout: rng must be an Rng (seeded generator)');
  if (!training || p === 0) return contiguous(x);
  const mask = outputLike(x);
  const m = mask.buf;
  const keepScale = 1 / (1 - p);
  if (!mask.isShapeOnly) for (let i = 0; i < m.length; i++) m[i] = rng.uniform() < p ? 0 : keepScale;
  // d dropout: g * mask (through mul's backward, which keeps the mask alive as long as the graph)
  return mul(x, mask);
}
