// Elementwise binary ops with NumPy broadcasting: add, sub, mul, div, maximum, minimum.
import type { BinaryOp } from '../backends/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { OpName } from '../tensor/op-names.js';
import { record } from '../autograd/tape.js';
import { broadcastShapes, broadcastStrides } from '../util/shape.js';
import { checkSame, checkTensor } from './validate.js';
import { dense, outputLike } from './alloc.js';
import { sumTo } from './sum-to.js';

/** Runs a binary kernel with broadcasting, unrecorded (also used inside backwards). */
export function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = outputLike(a, shape);
  a.backend.binary(op, a.buf, a.offset, broadcastStrides(a.shape, a.strides, shape),
    b.buf, b.offset, broadcastStrides(b.shape, b.strides, shape), out.buf, shape);
  return out;
}

/** saves: which of a, b and the output the backward reads. */
function binaryOp(op: BinaryOp & OpName, a: Tensor, b: Tensor, saves: 'none' | 'ab' | 'out-a',
  backward: (g: Tensor, needs: readonly boolean[], out: Tensor) => [Tensor | null, Tensor | null]): Tensor {
  checkTensor(op, 'a', a);
  checkTensor(op, 'b', b);
  checkSame(op, { a, b });
  const out = binaryKernel(op, a, b);
  const saved = saves === 'ab' ? [a, b] : saves === 'out-a' ? [out, a] : [];
  return record(out, op, [a, b], (g, needs) => backward(g, needs, out), saved);
}

/** Reduces a full-shape gradient to the input's shape (the backward's scope frees the full-shape one). */
const reduced = sumTo;

// d add: (g, g), each summed to its input's shape
export const add = (a: Tensor, b: Tensor): Tensor =>
  binaryOp('add', a, b, 'none', (g, n) => [n[0] ? sumTo(g, a.shape) : null, n[1] ? sumTo(g, b.shape) : null]);

// d sub: (g, -g)
export const sub = (a: Tensor, b: Tensor): Tensor =>
  binaryOp('sub', a, b, 'none', (g, n) => {
    let gb: Tensor | null = null;
    if (n[1]) {
      const s = dense(sumTo(g, b.shape));
      gb = outputLike(s);
      s.backend.unary('neg', s.buf, gb.buf, s.size, 0, 0);
    }
    return [n[0] ? sumTo(g, a.shape) : null, gb];
  });

// d mul: (g * b, g * a)
export const mul = (a: Tensor, b: Tensor): Tensor =>
  binaryOp('mul', a, b, 'ab', (g, n) => [
    n[0] ? reduced(binaryKernel('mul', g, b), a.shape) : null,
    n[1] ? reduced(binaryKernel('mul', g, a), b.shape) : null,
  ]);

// d div: (g / b, -g * a / b^2)
export const div = (a: Tensor, b: Tensor): Tensor =>
  binaryOp('div', a, b, 'ab', (g, n) => {
    const ga = n[0] ? reduced(binaryKernel('div', g, b), a.shape) : null;
    let gb: Tensor | null = null;
    if (n[1]) {
      const gOverB = binaryKernel('div', g, b);
      const t = binaryKernel('mul', gOverB, a);
      const q = binaryKernel('div', t, b);
      q.backend.unary('neg', q.buf, q.buf, q.size, 0, 0);
      gb = reduced(q, b.shape);
    }
    return [ga, gb];
  });

/** Elementwise max; the gradient goes to a where a >= b, else to b (torch splits ties; we give them to a). */
export const maximum = (a: Tensor, b: Tensor): Tensor => minMax('maximum', a, b);
export const minimum = (a: Tensor, b: Tensor): Tensor => minMax('minimum', a, b);

function minMax(op: 'maximum' | 'minimum', a: Tensor, b: Tensor): Tensor {
  // d max: g routed to the selected input (mask = (out == a))
  return binaryOp(op, a, b, 'out-a', (g, n, out) => {
    const maskA = selectMask(out, a);
    const ga = n[0] ? reduced(binaryKernel('mul', g, maskA), a.shape) : null;
    let gb: Tensor | null = null;
    if (n[1]) {
      const maskB = outputLike(maskA);
      maskA.backend.unary('affine', maskA.buf, maskB.buf, maskA.size, -1, 1);
      gb = reduced(binaryKernel('mul', g, maskB), b.shape);
    }
    return [ga, gb];
  });
}

/** 1 where out equals a (broadcast to out's shape), else 0. */
function selectMask(out: Tensor, a: Tensor): Tensor {
  const diff = binaryKernel('sub', out, a);
  const mask = outputLike(diff);
  const d = diff.buf;
  const m = mask.buf;
  if (!mask.isShapeOnly) for (let i = 0; i < d.length; i++) m[i] = d[i] === 0 ? 1 : 0;
  diff.dispose();
  return mask;
}
