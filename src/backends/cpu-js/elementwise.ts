// cpu-js elementwise kernels: unary ops, and broadcasting binary ops read through strides.
import type { BinaryOp, Buf, UnaryOp } from '../backend.js';
import { nextIndex, offsetOf } from './strided.js';
import { ArgumentError } from '../../util/errors.js';

const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** GPT-2 gelu_new: 0.5*x*(1 + tanh(k*(x + c*x^3))). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(GELU_K * (x + GELU_C * x * x * x)));
}

// d gelu: 0.5*(1+t) + 0.5*x*(1-t^2)*k*(1 + 3c*x^2), t = tanh(k*(x + c*x^3))
export function geluDeriv(x: number): number {
  const t = Math.tanh(GELU_K * (x + GELU_C * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * x * x);
}

function unaryFn(op: UnaryOp, alpha: number, beta: number): (x: number) => number {
  switch (op) {
    case 'neg': return (x) => -x;
    case 'exp': return Math.exp;
    case 'log': return Math.log;
    case 'sqrt': return Math.sqrt;
    case 'rsqrt': return (x) => 1 / Math.sqrt(x);
    case 'tanh': return Math.tanh;
    case 'sigmoid': return sigmoid;
    case 'relu': return (x) => (x > 0 ? x : 0);
    case 'abs': return Math.abs;
    case 'square': return (x) => x * x;
    case 'gelu': return gelu;
    case 'silu': return (x) => x * sigmoid(x);
    case 'affine': return (x) => alpha * x + beta;
    case 'pow': return (x) => Math.pow(x, alpha);
    default:
      op satisfies never;
      throw new ArgumentError(`unary: unknown op '${String(op)}'`);
  }
}

function binaryFn(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add': return (a, b) => a + b;
    case 'sub': return (a, b) => a - b;
    case 'mul': return (a, b) => a * b;
    case 'div': return (a, b) => a / b;
    case 'maximum': return (a, b) => (a >= b || Number.isNaN(a) ? a : b);
    case 'minimum': return (a, b) => (a <= b || Number.isNaN(a) ? a : b);
    case 'geluGrad': return (x, g) => g * geluDeriv(x);
    // d silu: s*(1 + x*(1-s)), s = sigmoid(x)
    case 'siluGrad': return (x, g) => { const s = sigmoid(x); return g * (s * (1 + x * (1 - s))); };
    // d relu: 1 where x > 0
    case 'reluGrad': return (x, g) => (x > 0 ? g : 0);
    default:
      op satisfies never;
      throw new ArgumentError(`binary: unknown op '${String(op)}'`);
  }
}

export function unary(op: UnaryOp, x: Buf, out: Buf, n: number, alpha: number, beta: number): void {
  const f = unaryFn(op, alpha, beta);
  for (let i = 0; i < n; i++) out[i] = f(x[i]!);
}

function isContiguous(strides: readonly number[], shape: readonly number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expect) return false;
    expect *= shape[d]!;
  }
  return true;
}

export function binary(op: BinaryOp, a: Buf, aOffset: number, aStrides: readonly number[],
  b: Buf, bOffset: number, bStrides: readonly number[], out: Buf, shape: readonly number[]): void {
  const f = binaryFn(op);
  const r = shape.length;
  let n = 1;
  for (const s of shape) n *= s;
  if (n === 0) return;
  if (isContiguous(aStrides, shape) && isContiguous(bStrides, shape)) {
    for (let i = 0; i < n; i++) out[i] = f(a[aOffset + i]!, b[bOffset + i]!);
    return;
  }
  const inner = shape[r - 1]!, as = aStrides[r - 1]!, bs = bStrides[r - 1]!;
  const counter = new Array<number>(r - 1).fill(0);
  let o = 0;
  do {
    let ai = offsetOf(aOffset, counter, aStrides, r - 1);
    let bi = offsetOf(bOffset, counter, bStrides, r - 1);
    for (let i = 0; i < inner; i++, ai += as, bi += bs) out[o++] = f(a[ai]!, b[bi]!);
  } while (nextIndex(counter, shape, r - 1));
}
