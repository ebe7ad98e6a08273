// sumTo: the reduction that undoes broadcasting, for backwards (not recorded).
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../util/errors.js';
import { fmtShape } from '../util/shape.js';
import { dense, outputLike, release } from './alloc.js';

/** Sums g down to shape (the inverse of broadcasting shape up to g.shape). Not recorded: used by backwards. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new ShapeError(`sumTo: cannot reduce ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
  const keep = g.shape.map((d, i) => i >= lead && shape[i - lead] === d);
  for (let i = lead; i < g.rank; i++) {
    if (!keep[i] && shape[i - lead] !== 1) throw new ShapeError(`sumTo: cannot reduce ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
  }
  const gd = dense(g);
  const out = outputLike(g, shape);
  g.backend.sumReduce(gd.buf, g.shape, keep, out.buf);
  release(gd, g);
  return out;
}
