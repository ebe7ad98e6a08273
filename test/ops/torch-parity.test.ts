// Every op's forward and gradients against PyTorch (fixture: scripts/gen_op_fixtures.py, float64 oracle), on
// every backend: float32 everywhere, and float64 on cpu-js. Dropout cannot match torch's RNG, so it is
// checked by its properties instead.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, DType } from '../../src/backends/backend.js';
import { cpuJs } from '../../src/backends/cpu-js/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { scope } from '../../src/tensor/scope.js';
import { backward } from '../../src/autograd/backward.js';
import * as ops from '../../src/ops/index.js';
import { Rng } from '../../src/util/rng.js';
import { BACKENDS } from '../backends-under-test.js';
import { repoRoot } from '../helpers.js';

type View = null | { kind: 'transpose' } | { kind: 'permute'; perm: number[] } | { kind: 'slice'; dim: number; start: number }
  | { kind: 'expand' };
interface InputFx { shape: number[]; leafShape: number[]; view: View; requiresGrad: boolean; data: number[] }
interface CaseFx {
  name: string;
  op: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  args: Record<string, any>;
  inputs: InputFx[];
  out: { shape: number[]; data: (number | null)[] };
  cot: number[];
  grads: (number[] | null)[];
}

const fx: { cases: CaseFx[] } = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/ops.json'), 'utf8'));

// Tolerances, |got - want| <= atol + rtol |want|. The fixture's inputs and cotangents are float32 values, so
// both runs see exactly the oracle's inputs and differ from it only by their own rounding.
// float64 (cpu-js): double rounding in a different summation order: errors are ~1e-15 relative to the terms;
//   1e-10 relative leaves a wide margin, and the 1e-12 floor covers entries that cancel to near zero.
// float32: each elementwise op is within a few ulps (~3e-7 relative; AVX2 exp/tanh polynomials ~2 ulps), and a
//   reduction or dot product over K <= 32 terms errs by at most ~K * 6e-8 * sum|terms| (~2e-6 at these sizes).
//   rtol 1e-4 is > 25x that; atol 1e-5 covers outputs and gradients that cancel to near zero, whose error is
//   bounded by the size of the terms (O(1) here), not by their own size.
const F64 = { rtol: 1e-10, atol: 1e-12 };
const F32 = { rtol: 1e-4, atol: 1e-5 };

function viewOf(leaf: Tensor, inp: InputFx): Tensor {
  const v = inp.view;
  if (!v) return leaf;
  switch (v.kind) {
    case 'transpose': return ops.transpose(leaf, -1, -2);
    case 'permute': return ops.permute(leaf, v.perm);
    case 'slice': return ops.slice(leaf, v.dim, v.start, v.start + inp.shape[v.dim]);
    case 'expand': return ops.expand(leaf, inp.shape);
  }
}

/** Applies the fixture's op to the views, with its non-tensor arguments. */
function runOp(c: CaseFx, xs: Tensor[], dtype: DType, backend: Backend): Tensor {
  const a = c.args;
  const [x, y, z] = xs;
  switch (c.op) {
    case 'add': return ops.add(x, y);
    case 'sub': return ops.sub(x, y);
    case 'mul': return ops.mul(x, y);
    case 'div': return ops.div(x, y);
    case 'maximum': return ops.maximum(x, y);
    case 'minimum': return ops.minimum(x, y);
    case 'affine': return ops.affine(x, a.alpha, a.beta);
    case 'scale': return ops.scale(x, a.s);
    case 'addScalar': return ops.addScalar(x, a.c);
    case 'neg': return ops.neg(x);
    case 'exp': return ops.exp(x);
    case 'log': return ops.log(x);
    case 'sqrt': return ops.sqrt(x);
    case 'rsqrt': return ops.rsqrt(x);
    case 'tanh': return ops.tanh(x);
    case 'sigmoid': return ops.sigmoid(x);
    case 'relu': return ops.relu(x);
    case 'square': return ops.square(x);
    case 'pow': return ops.pow(x, a.p);
    case 'gelu': return ops.gelu(x);
    case 'silu': return ops.silu(x);
    case 'sum': return ops.sum(x, a.dims, a.keepdim ?? false);
    case 'mean': return ops.mean(x, a.dims, a.keepdim ?? false);
    case 'reshape': return ops.reshape(x, a.shape);
    case 'permute': return ops.permute(x, a.perm);
    case 'transpose': return ops.transpose(x, a.d0, a.d1);
    case 'slice': return ops.slice(x, a.dim, a.start, a.end);
    case 'expand': return ops.expand(x, a.shape);
    case 'contiguous': return ops.contiguous(x);
    case 'concat': return ops.concat(xs, a.dim);
    case 'matmul': return ops.matmul(x, y, { transA: a.transA ?? false, transB: a.transB ?? false });
    case 'linear': return ops.linear(x, y, z ?? null, { layout: a.layout });
    case 'embedding': return ops.embedding(x, Int32Array.from(a.ids), a.idsShape);
    case 'layerNorm': return ops.layerNorm(x, y, z ?? null, a.eps);
    case 'rmsNorm': return ops.rmsNorm(x, y, a.eps);
    case 'softmax': return ops.softmax(x, { causal: a.causal ?? false });
    case 'attention': return ops.attention(x, y, z, { causal: a.causal ?? true, scale: a.scale });
    case 'qkvAttention': return ops.qkvAttention(x, a.nh, { causal: a.causal ?? true, scale: a.scale });
    case 'rope': {
      const [T, hs] = x.shape.slice(-2);
      const { cos, sin } = ops.ropeTables(T, hs, a.theta, a.start, { dtype, backend });
      return ops.rope(x, cos, sin, a.layout);
    }
    case 'crossEntropy':
      return ops.crossEntropy(x, Int32Array.from(a.targets), { ignoreIndex: a.ignoreIndex ?? -100, reduction: a.reduction ?? 'mean' });
    case 'linearCrossEntropy':
      return ops.linearCrossEntropy(x, y, z ?? null, Int32Array.from(a.targets),
        { ignoreIndex: a.ignoreIndex ?? -100, reduction: a.reduction ?? 'mean', chunkRows: a.chunkRows });
    default: throw new Error(`fixture op '${c.op}' has no runner`);
  }
}

/** Forward, then backward of sum(out * cot) (seeded with cot), in the given dtype and backend. */
function runCase(c: CaseFx, backend: Backend, dtype: DType): { shape: number[]; out: number[]; grads: (number[] | null)[] } {
  // The fixture's decimals are float32 values; fround makes the float64 run see exactly those values too.
  const arr = (xs: number[]) => (dtype === 'float64' ? Float64Array.from(xs, Math.fround) : Float32Array.from(xs));
  return scope(() => {
    const leaves = c.inputs.map((inp) =>
      ops.tensor(arr(inp.data), inp.leafShape, { dtype, backend, requiresGrad: inp.requiresGrad }));
    const y = runOp(c, leaves.map((l, i) => viewOf(l, c.inputs[i])), dtype, backend);
    const res = { shape: [...y.shape], out: y.toArray(), grads: [] as (number[] | null)[] };
    backward(y, ops.tensor(arr(c.cot), y.shape, { dtype, backend }));
    for (const l of leaves) {
      res.grads.push(l.grad ? l.grad.toArray() : null);
      l.grad?.dispose();
    }
    return res;
  });
}

function expectClose(label: string, got: readonly number[], want: readonly (number | null)[], tol: { rtol: number; atol: number }): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const w = want[i] ?? NaN;
    if (Number.isNaN(w) && Number.isNaN(got[i])) continue;
    if (!(Math.abs(got[i] - w) <= tol.atol + tol.rtol * Math.abs(w))) {
      throw new Error(`${label}[${i}]: got ${got[i]}, PyTorch ${w} (diff ${Math.abs(got[i] - w)}, rtol ${tol.rtol}, atol ${tol.atol})`);
    }
  }
}

function check(c: CaseFx, backend: Backend, dtype: DType, tol: { rtol: number; atol: number }): void {
  const r = runCase(c, backend, dtype);
  expect(r.shape, `${c.name}: output shape`).toEqual(c.out.shape);
  expectClose(`${c.name}: forward`, r.out, c.out.data, tol);
  c.inputs.forEach((inp, i) => {
    const want = c.grads[i];
    if (!inp.requiresGrad || want === null) {
      expect(r.grads[i], `${c.name}: input ${i} is frozen and gets no gradient`).toBeNull();
      return;
    }
    expect(r.grads[i], `${c.name}: input ${i} has no gradient`).not.toBeNull();
    expectClose(`${c.name}: d input ${i}`, r.grads[i]!, want, tol);
  });
}

const cases = fx.cases.map((c) => [c.name, c] as const);

describe('ops match PyTorch (fixture: scripts/gen_op_fixtures.py)', () => {
  it('the fixture covers every op in the op table (dropout by its properties below)', () => {
    const covered = new Set(fx.cases.map((c) => c.op));
    expect(Object.keys(ops.OPS).filter((op) => op !== 'dropout' && !covered.has(op))).toEqual([]);
  });

  describe('float64 on cpu-js: forward and gradients to 1e-10 relative', () => {
    it.each(cases)('%s', (_n, c) => check(c, cpuJs, 'float64', F64));
  });

  describe.each(BACKENDS)('float32 on %s: rtol 1e-4, atol 1e-5', (_b, backend) => {
    it.each(cases)('%s', (_n, c) => check(c, backend, 'float32', F32));
  });
});

describe.each(BACKENDS)('dropout properties on %s (torch RNG cannot be matched)', (_b, backend) => {
  const p = 0.3;
  const n = 200 * 500;
  const input = () => {
    const r = new Rng(11);
    return Float32Array.from({ length: n }, () => 0.5 + Math.abs(r.normal())); // no zeros
  };
  const run = (seed: number, cot?: Float32Array) => scope(() => {
    const x = ops.tensor(input(), [200, 500], { backend, requiresGrad: true });
    const y = ops.dropout(x, p, new Rng(seed));
    backward(y, ops.tensor(cot ?? new Float32Array(n).fill(1), [200, 500], { backend }));
    const res = { x: x.toArray(), y: y.toArray(), grad: x.grad!.toArray() };
    x.grad!.dispose();
    return res;
  });

  it('zeroes a fraction p of the elements and scales the kept ones by 1/(1-p)', () => {
    const { x, y } = run(7);
    const zeros = y.filter((v) => v === 0).length;
    // Binomial(n, p): sd = sqrt(p(1-p)/n) ~ 0.0014; 0.01 is ~7 sd.
    expect(Math.abs(zeros / n - p)).toBeLessThan(0.01);
    const keep = 1 / (1 - p);
    y.forEach((v, i) => {
      if (v !== 0 && Math.abs(v - x[i] * keep) > 1e-6 * Math.abs(x[i] * keep)) throw new Error(`kept [${i}]: ${v} vs ${x[i] * keep}`);
    });
  });

  it('the same seed gives the same mask; another seed a different one', () => {
    const a = run(7).y;
    expect(run(7).y).toEqual(a);
    const b = run(8).y;
    expect(b.some((v, i) => (v === 0) !== (a[i] === 0))).toBe(true);
  });

  it('the gradient is the mask (0 or 1/(1-p)) times the cotangent', () => {
    const ones = run(7);
    const keep = Math.fround(1 / (1 - p));
    ones.grad.forEach((g, i) => {
      const want = ones.y[i] === 0 ? 0 : keep;
      if (Math.abs(g - want) > 1e-6) throw new Error(`grad[${i}]: ${g} vs mask ${want}`);
    });
    const r = new Rng(3);
    const cot = Float32Array.from({ length: n }, () => r.normal());
    const withCot = run(7, cot);
    withCot.grad.forEach((g, i) => {
      const want = ones.y[i] === 0 ? 0 : cot[i] * keep;
      if (Math.abs(g - want) > 1e-6 * (1 + Math.abs(want))) throw new Error(`grad[${i}]: ${g} vs ${want}`);
    });
  });

  it('is the identity when p = 0 or not training', () => {
    scope(() => {
      const x = ops.tensor(input().subarray(0, 100), [10, 10], { backend });
      expect(ops.dropout(x, 0, new Rng(1)).toArray()).toEqual(x.toArray());
      expect(ops.dropout(x, 0.5, new Rng(1), false).toArray()).toEqual(x.toArray());
    });
  });
});
