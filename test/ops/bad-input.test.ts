// Bad input: wrong shapes, ranks, dtypes, indices and argument types throw typed errors naming the op, before
// any kernel runs; a randomized driver (>= 1,000 cases) never crashes the process.
import { describe, it, expect } from 'vitest';
import * as ops from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { LisaError, ShapeError, DTypeError, IndexError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { cpuJs } from '../../src/backends/cpu-js/index.js';
import { defaultBackend } from '../../src/backends/index.js';

const be = defaultBackend();
const t = (shape: number[], dtype: 'float32' | 'float64' = 'float32') =>
  ops.zeros(shape, { dtype, backend: dtype === 'float64' ? cpuJs : be });

describe('typed errors for bad input', () => {
  it('names the op and the shapes', () => {
    expect(() => ops.matmul(t([2, 3]), t([4, 5]))).toThrow(ShapeError);
    expect(() => ops.matmul(t([2, 3]), t([4, 5]))).toThrow(/matmul.*\[2, 3\].*\[4, 5\]/);
    expect(() => ops.add(t([2, 3]), t([4]))).toThrow(/add: shapes \[2, 3\] and \[4\]/);
    expect(() => ops.linear(t([2, 3]), t([4, 5]))).toThrow(/linear: x \[2, 3\] has 3 input features but weight \[4, 5\] expects 5/);
    expect(() => ops.layerNorm(t([2, 3]), t([4]), null)).toThrow(/layerNorm: weight \[4\] must be \[3\]/);
    expect(() => ops.attention(t([1, 3, 2, 4]), t([1, 2, 2, 4]), t([1, 2, 2, 4]))).toThrow(/3 query heads are not a multiple of 2/);
    expect(() => ops.attention(t([1, 2, 2, 4]), t([1, 2, 0, 4]), t([1, 2, 0, 4]), { causal: false })).toThrow(/attention: k and v have no keys \(Tk = 0\)/);
  });
  it('rejects wrong ranks, dtype mismatches and out-of-range indices', () => {
    expect(() => ops.attention(t([3, 2, 4]), t([1, 2, 2, 4]), t([1, 2, 2, 4]))).toThrow(/attention: 'q' must have rank 4/);
    expect(() => ops.add(t([2]), ops.zeros([2], { dtype: 'float64', backend: cpuJs }))).toThrow(be === cpuJs ? DTypeError : LisaError);
    expect(() => ops.embedding(t([5, 3]), Int32Array.from([0, 5]), [2])).toThrow(IndexError);
    expect(() => ops.embedding(t([5, 3]), Int32Array.from([0, 5]), [2])).toThrow(/embedding: ids\[1\] = 5 is out of range \[0, 5\)/);
    expect(() => ops.crossEntropy(t([2, 4]), Int32Array.from([1, -1]))).toThrow(/crossEntropy: targets\[1\] = -1/);
    expect(() => ops.crossEntropy(t([2, 4]), Int32Array.from([1]))).toThrow(/targets' has 1 entries, expected 2/);
    expect(() => ops.slice(t([2, 4]), 1, 2, 9)).toThrow(IndexError);
    expect(() => ops.sum(t([2, 4]), 2)).toThrow(/sum: dim 2 out of range/);
  });
  it('rejects disposed tensors and non-tensors', () => {
    const x = t([2, 2]);
    x.dispose();
    expect(() => ops.exp(x)).toThrow(/exp: argument 'x' .* was disposed/);
    expect(() => ops.exp(null as unknown as Tensor)).toThrow(/exp: argument 'x' must be a Tensor/);
  });
});

type Arg = unknown;
/** A valid call for each op; the driver then corrupts one argument at random. */
const valid: Record<string, () => Arg[]> = {
  add: () => [t([2, 3]), t([3])], sub: () => [t([2, 3]), t([2, 1])], mul: () => [t([4]), t([4])], div: () => [t([2]), t([1])],
  maximum: () => [t([2, 2]), t([2, 2])], exp: () => [t([3])], gelu: () => [t([2, 3])], silu: () => [t([2, 3])],
  pow: () => [t([3]), 2], affine: () => [t([3]), 2, 1], sum: () => [t([2, 3]), 1], mean: () => [t([2, 3]), [0, 1]],
  reshape: () => [t([2, 3]), [3, 2]], permute: () => [t([2, 3, 4]), [2, 0, 1]], transpose: () => [t([2, 3]), 0, 1],
  slice: () => [t([4, 3]), 0, 1, 3], expand: () => [t([3, 1]), [2, 3, 4]], concat: () => [[t([2, 3]), t([1, 3])], 0],
  matmul: () => [t([2, 3, 4]), t([4, 5])], linear: () => [t([2, 4]), t([3, 4]), t([3])],
  embedding: () => [t([6, 4]), Int32Array.from([1, 2, 5]), [3]], layerNorm: () => [t([2, 4]), t([4]), t([4]), 1e-5],
  rmsNorm: () => [t([2, 4]), t([4]), 1e-6], softmax: () => [t([2, 4, 4]), { causal: true }],
  attention: () => [t([1, 4, 3, 2]), t([1, 2, 3, 2]), t([1, 2, 3, 2])], qkvAttention: () => [t([2, 3, 12]), 2],
  rope: () => { const { cos, sin } = ops.ropeTables(3, 4, 10000, 0, { backend: be }); return [t([2, 3, 4]), cos, sin, 'half']; },
  crossEntropy: () => [t([3, 5]), Int32Array.from([0, 4, -100])], dropout: () => [t([4, 4]), 0.5, new Rng(1)],
  linearCrossEntropy: () => [t([3, 4]), t([5, 4]), t([5]), Int32Array.from([0, 4, -100]), { chunkRows: 2 }],
};

function corrupt(v: Arg, rng: Rng): Arg {
  const pick = <T>(xs: T[]): T => xs[rng.int(xs.length)];
  const randShape = () => Array.from({ length: rng.int(5) }, () => pick([0, 1, 2, 3, 5, 7]));
  if (v instanceof Tensor) {
    switch (rng.int(5)) {
      case 0: return t(randShape());
      case 1: return ops.zeros(v.shape, { dtype: 'float64', backend: cpuJs });
      case 2: { const d = t([...v.shape]); d.dispose(); return d; }
      case 3: return ops.transpose(t([...v.shape, 2]), 0, -1);
      default: return pick([null, undefined, 3, 'x', [1, 2], {}]);
    }
  }
  if (v instanceof Int32Array) {
    const c = Int32Array.from(v);
    if (rng.int(2) === 0 && c.length) c[rng.int(c.length)] = pick([-1, -7, 1000, 2 ** 31 - 1, -(2 ** 31)]);
    else return rng.int(2) ? Int32Array.from(Array.from({ length: rng.int(6) }, () => rng.int(8))) : pick([[1, 2], null, 'ids']);
    return c;
  }
  if (Array.isArray(v)) return rng.int(2) ? randShape().map((d) => (rng.int(4) ? d : pick([-1, -3, 1.5, NaN]))) : pick([null, 7, 'a', [v]]);
  if (typeof v === 'number') return pick([NaN, -1, 1e9, -1e9, 0.5, Infinity, 1 << 30, '3']);
  return pick([null, 0, 'bogus', { causal: 'yes' }, []]);
}

describe('randomized bad-argument driver', () => {
  it('never crashes: every call returns a tensor or throws a LisaError (2,000 cases)', () => {
    const rng = new Rng(2024);
    const names = Object.keys(valid);
    const unexpected: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const name = names[i % names.length];
      const args = valid[name]();
      const k = rng.int(args.length);
      args[k] = corrupt(args[k], rng);
      if (rng.int(4) === 0) { const j = rng.int(args.length); args[j] = corrupt(args[j], rng); }
      try {
        const out = (ops.OPS as Record<string, (...a: Arg[]) => unknown>)[name](...args);
        if (!(out instanceof Tensor)) unexpected.push(`${name}: returned ${typeof out}`);
      } catch (e) {
        if (!(e instanceof LisaError)) unexpected.push(`${name}(arg ${k}): ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
    expect(unexpected.slice(0, 20)).toEqual([]);
  });
});
