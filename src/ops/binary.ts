// Elementwise binary ops with NumPy broadcasting: add, sub, mul, div, maximum, minimum.
import type { BinaryOp } from '../backends/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { broadcastShapes, broadcastStrides } from '../util/shape.js';
import { checkSame, checkTensor } from './validate.js';
import { dense, emptyLike } from './alloc.js';
import { sumTo } from './reduce.js';

/** Runs a binary kernel with broadcasting, unrecorded (also used inside backwards). */
export function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = emptyLike(a, shape);
  a.backend.binary(op, a.buf, a.offset, broadcastStrides(a.shape, a.strides, shape),
    b.buf, b.offset, broadcastStrides(b.shape, b.strides, shape), out.buf, shape);
  return out;
}

function binaryOp(op: BinaryOp, a: Tensor, b: Tensor,
  backward: (g: Tensor, needs: readonly boolean[]) => [Tensor | null, Tensor | null]): Tensor {
  checkTensor(op, 'a', a);
  checkTensor(op, 'b', b);
  checkSame(op, { a, b });
  return record(binaryKernel(op, a, b), op, [a, b], backward);
}

/** Reduces a full-shape gradient to the input's shape, freeing the temporary when a copy was made. */
function reduced(g: Tensor, shape: readonly number[]): Tensor {
  const r = sumTo(g, shape);
  if (r !== g) g.dispose();
  return r;
}

// d add: (g, g), each summed to its input's shape
export const add = (a: Tensor, b: Tensor): Tensor =>
  binaryOp('add', a, b, (g, n) => [n[0] ? sumTo(g, a.shape) : null, n[1] ? sumTo(g, b.shape) : null]);

// d sub: (g, -g)
export const sub = (a: Tensor, b: Tensor): Tensor =>
  binaryOp('sub', a, b, (g, n) => {
    let gb: Tensor | null = null;
    if (n[1]) {
      const s = dense(sumTo(g, b.shape));
      gb = emptyLike(s);
      s.backend.unary('neg', s.buf, gb.buf, s.size, 0, 0);
      if (s !== g) s.dispose();
    }
    return [n[0] ? sumTo(g, a.shape) : null, gb];
  });

// d mul: (g * b, g * a)
export const mul = (a: Tensor, b: Tensor): Tensor =>
  binaryOp('mul', a, b, (g, n) => [
    n[0] ? reduced(binaryKernel('mul', g, b), a.shape) : null,
    n[1] ? reduced(binaryKernel('mul', g, a), b.shape) : null,
  ]);

// d div: (g / b, -g * a / b^2)
export const div = (a: Tensor, b: Tensor): Tensor =>
  binaryOp('div', a, b, (g, n) => {
    const ga = n[0] ? reduced(binaryKernel('div', g, b), a.shape) : null;
    let gb: Tensor | null = null;
    if (n[1]) {
      const gOverB = binaryKernel('div', g, b);
      const t = binaryKernel('mul', gOverB, a);
      const q = binaryKernel('div', t, b);
      q.backend.unary('neg', q.buf, q.buf, q.size, 0, 0);
      gOverB.dispose();
      t.dispose();
      gb = reduced(q, b.shape);
    }
    return [ga, gb];
  });

/** Elementwise max; the gradient goes to a where a >= b, else to b (torch splits ties; we give them to a). */
export const maximum = (a: Tensor, b: Tensor): Tensor => minMax('maximum', a, b);
export const minimum = (a: Tensor, b: Tensor): Tensor => minMax('minimum', a, b);

function minMax(op: 'maximum' | 'minimum', a: Tensor, b: Tensor): Tensor {
  // d max: g routed to the selected input (mask = (out == a))
  const out = binaryOp(op, a, b, (g, n) => {
    const maskA = selectMask(out, a);
    const ga = n[0] ? reduced(binaryKernel('mul', g, maskA), a.shape) : null;
    let gb: Tensor | null = null;
    if (n[1]) {
      const maskB = emptyLike(maskA);
      maskA.backend.unary('affine', maskA.buf, maskB.buf, maskA.size, -1, 1);
      gb = reduced(binaryKernel('mul', g, maskB), b.shape);
      maskB.dispose();
    }
    maskA.dispose();
    return [ga, gb];
  });
  return out;
}

/** 1 where out equals a (broadcast to out's shape), else 0. */
function selectMask(out: Tensor, a: Tensor): Tensor {
  const diff = binaryKernel('sub', out, a);
  const mask = emptyLike(diff);
  const d = diff.buf;
  const m = mask.buf;
  if (!mask.isShapeOnly) for (let i = 0; i < d.length; i++) m[i] = d[i] === 0 ? 1 : 0;
  diff.dispose();
  return mask;
}
