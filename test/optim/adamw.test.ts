// AdamW against torch.optim.AdamW over 20 steps with weight decay on matrices and a warmup+cosine schedule
// (fixture: scripts/gen_adamw_fixture.py); state dict round trip; freeing state.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, DType } from '../../src/backends/backend.js';
import { cpuJs } from '../../src/backends/cpu-js/index.js';
import { Parameter } from '../../src/tensor/tensor.js';
import { scope } from '../../src/tensor/scope.js';
import { backward } from '../../src/autograd/backward.js';
import * as ops from '../../src/ops/index.js';
import { AdamW } from '../../src/optim/adamw.js';
import { lrAt, type Schedule } from '../../src/optim/schedule.js';
import { BACKENDS } from '../backends-under-test.js';
import { repoRoot } from '../helpers.js';

const fx = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/adamw.json'), 'utf8'));

function run(backend: Backend, dtype: DType) {
  const W = Parameter.fromData('W', dtype === 'float64' ? Float64Array.from(fx.init.W) : Float32Array.from(fx.init.W), [3, 4], { backend });
  const b = Parameter.fromData('b', dtype === 'float64' ? Float64Array.from(fx.init.b) : Float32Array.from(fx.init.b), [4], { backend });
  const c = (xs: number[], shape: number[]) => ops.tensor(xs, shape, { dtype, backend });
  const opt = new AdamW({ lr: fx.lr, beta1: fx.betas[0], beta2: fx.betas[1], eps: fx.eps, weightDecay: fx.weightDecay });
  const schedule: Schedule = { kind: 'cosine', lr: fx.lr, warmupSteps: fx.warmup, totalSteps: fx.total };
  const got: { loss: number; lr: number; W: number[]; b: number[] }[] = [];
  for (let step = 0; step < fx.total; step++) {
    const loss = scope(() => {
      const term = (p: Parameter, t: number[], w: number[]) =>
        ops.sum(ops.mul(c(w, p.shape as number[]), ops.square(ops.sub(p, c(t, p.shape as number[])))));
      const l = ops.add(term(W, fx.target.W, fx.weight.W), term(b, fx.target.b, fx.weight.b));
      backward(l);
      return l.item();
    });
    const lr = lrAt(schedule, step);
    opt.step([W, b], lr);
    W.zeroGrad();
    b.zeroGrad();
    got.push({ loss, lr, W: W.toArray(), b: b.toArray() });
  }
  return { got, opt, W, b };
}

describe('AdamW matches torch.optim.AdamW', () => {
  it('float64 on cpu-js: 20 steps, losses, lrs and parameters to 1e-10', () => {
    const { got } = run(cpuJs, 'float64');
    got.forEach((g, i) => {
      const ref = fx.steps[i];
      expect(g.lr).toBeCloseTo(ref.lr, 14);
      expect(Math.abs(g.loss - ref.loss)).toBeLessThan(1e-10 * Math.max(1, Math.abs(ref.loss)));
      [...g.W, ...g.b].forEach((v, j) => expect(Math.abs(v - [...ref.W, ...ref.b][j])).toBeLessThan(1e-10));
    });
  });

  describe.each(BACKENDS)('float32 on %s', (_n, backend) => {
    it('tracks the float64 reference to fp32 rounding', () => {
      const { got } = run(backend, 'float32');
      got.forEach((g, i) => {
        const ref = fx.steps[i];
        expect(Math.abs(g.loss - ref.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.loss)));
        [...g.W, ...g.b].forEach((v, j) => expect(Math.abs(v - [...ref.W, ...ref.b][j])).toBeLessThan(1e-5));
      });
    });
  });

  it('saves and loads its state exactly, and frees per parameter', () => {
    const { opt, W, b } = run(cpuJs, 'float32');
    const dict = opt.stateDict();
    const opt2 = new AdamW({ lr: fx.lr });
    opt2.loadStateDict(dict, [W, b]);
    expect(opt2.stateDict()).toEqual(dict);
    expect(opt.stateOf(W)?.step).toBe(fx.total);
    expect(opt.stateBytes()).toBe((12 + 4) * 2 * 4);
    opt.freeState(W);
    expect(opt.hasState(W)).toBe(false);
    expect(opt.stateBytes()).toBe(4 * 2 * 4);
    opt.dispose();
    opt2.dispose();
  });
});
