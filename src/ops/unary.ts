// Elementwise unary ops (exp, log, sqrt, rsqrt, tanh, sigmoid, relu, square, pow, scale/affine, neg) and
// the activations GELU (tanh form, GPT-2's gelu_new) and SiLU.
import type { UnaryOp } from '../backends/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { OpName } from '../tensor/op-names.js';
import { record } from '../autograd/tape.js';
import { checkNumber, checkTensor } from './validate.js';
import { dense, outputLike, release } from './alloc.js';
import { mul, binaryKernel } from './binary.js';

function run(op: UnaryOp, x: Tensor, alpha = 0, beta = 0): Tensor {
  const xd = dense(x);
  const out = outputLike(x);
  x.backend.unary(op, xd.buf, out.buf, x.size, alpha, beta);
  release(xd, x);
  return out;
}

/** saves: what the backward reads, the input x, the output y, or nothing. */
function unaryOp(op: UnaryOp & OpName, x: Tensor, saves: 'x' | 'y' | 'none', backward: (g: Tensor, y: Tensor) => Tensor,
  alpha = 0, beta = 0): Tensor {
  checkTensor(op, 'x', x);
  const y = run(op, x, alpha, beta);
  return record(y, op, [x], (g) => [backward(g, y)], saves === 'x' ? [x] : saves === 'y' ? [y] : []);
}

/** alpha * x + beta. */
export function affine(x: Tensor, alpha: number, beta: number): Tensor {
  checkNumber('affine', 'alpha', alpha);
  checkNumber('affine', 'beta', beta);
  // d affine: alpha * g
  return unaryOp('affine', x, 'none', (g) => run('affine', g, alpha, 0), alpha, beta);
}
export const scale = (x: Tensor, s: number): Tensor => affine(x, s, 0);
export const addScalar = (x: Tensor, c: number): Tensor => affine(x, 1, c);
// d neg: -g
export const neg = (x: Tensor): Tensor => unaryOp('neg', x, 'none', (g) => run('neg', g));
// d exp: g * y
export const exp = (x: Tensor): Tensor => unaryOp('exp', x, 'y', (g, y) => mul(g, y));
// d log: g / x
export const log = (x: Tensor): Tensor => unaryOp('log', x, 'x', (g) => binaryKernel('div', g, x));
// d sqrt: g * 0.5 / y
export const sqrt = (x: Tensor): Tensor => unaryOp('sqrt', x, 'y', (g, y) => run('affine', binaryKernel('div', g, y), 0.5, 0));
// d rsqrt: g * (-0.5) * y^3
export const rsqrt = (x: Tensor): Tensor => unaryOp('rsqrt', x, 'y', (g, y) => run('affine', binaryKernel('mul', g, run('pow', y, 3)), -0.5, 0));
// d tanh: g * (1 - y^2)
export const tanh = (x: Tensor): Tensor => unaryOp('tanh', x, 'y', (g, y) => binaryKernel('mul', g, run('affine', run('square', y), -1, 1)));
// d sigmoid: g * y * (1 - y)
export const sigmoid = (x: Tensor): Tensor => unaryOp('sigmoid', x, 'y', (g, y) => binaryKernel('mul', g, binaryKernel('mul', y, run('affine', y, -1, 1))));
// d relu: g * (x > 0)
export const relu = (x: Tensor): Tensor => unaryOp('relu', x, 'x', (g) => binaryKernel('reluGrad', x, g));
// d square: 2 x g
export const square = (x: Tensor): Tensor => unaryOp('square', x, 'x', (g) => run('affine', binaryKernel('mul', g, x), 2, 0));
/** x ** p for a constant exponent p. */
export function pow(x: Tensor, p: number): Tensor {
  checkNumber('pow', 'p', p);
  // d pow: g * p * x^(p-1)
  return unaryOp('pow', x, 'x', (g) => run('affine', binaryKernel('mul', g, run('pow', x, p - 1)), p, 0), p);
}
// d gelu (tanh form): g * gelu'(x), fused in the geluGrad kernel
export const gelu = (x: Tensor): Tensor => unaryOp('gelu', x, 'x', (g) => binaryKernel('geluGrad', x, g));
// d silu: g * s * (1 + x (1 - s)), fused in the siluGrad kernel
export const silu = (x: Tensor): Tensor => unaryOp('silu', x, 'x', (g) => binaryKernel('siluGrad', x, g));
