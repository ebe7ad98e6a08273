// LISA behaviour: activated blocks change, frozen blocks stay bit-identical, optimizer memory under reset
// and keep, gamma = all blocks equals full fine-tuning, PyTorch reference losses, seeded sequences.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, DType } from '../../src/backends/backend.js';
import { cpuJs } from '../../src/backends/cpu-js/index.js';
import { createModel, parseConfig, type CausalLM } from '../../src/models/index.js';
import { scope } from '../../src/tensor/scope.js';
import { backward } from '../../src/autograd/backward.js';
import { crossEntropy } from '../../src/ops/index.js';
import { AdamW } from '../../src/optim/adamw.js';
import { Lisa, type LisaOptions } from '../../src/finetune/lisa.js';
import { FullFineTune } from '../../src/finetune/full.js';
import type { FineTuneMethod } from '../../src/finetune/method.js';
import { GPT2_SMALL, TINYLLAMA_1_1B, LLAMA2_7B, LLAMA31_8B } from '../models/known-configs.js';
import { BACKENDS } from '../backends-under-test.js';
import { repoRoot } from '../helpers.js';

const fx = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/lisa.json'), 'utf8'));

function tinyModel(backend: Backend, dtype: DType = 'float32'): CausalLM {
  const m = createModel(parseConfig(fx.config), { backend, dtype });
  for (const [name, p] of m.namedParameters()) p.buf.set(fx.init[name]);
  return m;
}

function train(model: CausalLM, method: FineTuneMethod, opt: AdamW, steps: number, onStep?: (s: number) => void): number[] {
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    method.beginStep(step);
    const d = fx.data[step % fx.data.length];
    losses.push(scope(() => {
      const logits = model.forward(Int32Array.from(d.ids), fx.B, fx.T);
      const loss = crossEntropy(logits, Int32Array.from(d.targets));
      backward(loss);
      return loss.item();
    }));
    opt.step(method.trainableParameters());
    for (const p of model.parameters()) p.zeroGrad();
    onStep?.(step);
  }
  return losses;
}

const lisaOpts = (o: Partial<LisaOptions> = {}): LisaOptions => ({ gamma: 1, period: fx.period, schedule: fx.schedule, ...o });
const newOpt = () => new AdamW({ lr: fx.lr, weightDecay: fx.weightDecay, beta1: fx.betas[0], beta2: fx.betas[1], eps: fx.eps });
const snapshot = (m: CausalLM, b: number) => m.blocks[b].parameters().map((p) => Float32Array.from(p.buf));

describe('LISA', () => {
  it('(e) float64: per-step losses match the PyTorch reference that freezes the same blocks (reset and keep)', () => {
    for (const mode of ['reset', 'keep'] as const) {
      const model = tinyModel(cpuJs, 'float64');
      const opt = newOpt();
      const losses = train(model, new Lisa(model, opt, lisaOpts({ stateOnSwitch: mode })), opt, fx.losses[mode].length);
      expect(losses).toHaveLength(8);
      losses.forEach((l, i) => expect(Math.abs(l - fx.losses[mode][i])).toBeLessThan(1e-9));
      opt.dispose();
      model.dispose();
    }
  });

  describe.each(BACKENDS)('on %s (float32)', (_n, backend) => {
    it('(e) per-step losses match the PyTorch reference within 1e-4 relative', () => {
      for (const mode of ['reset', 'keep'] as const) {
        const model = tinyModel(backend);
        const opt = newOpt();
        const losses = train(model, new Lisa(model, opt, lisaOpts({ stateOnSwitch: mode })), opt, fx.losses[mode].length);
      expect(losses).toHaveLength(8);
        losses.forEach((l, i) => expect(Math.abs(l - fx.losses[mode][i]) / fx.losses[mode][i]).toBeLessThan(1e-4));
        opt.dispose();
        model.dispose();
      }
    });

    it('(a)(b) a block activated after step 0 changes; frozen blocks stay bit-identical (no weight-decay drift)', () => {
      const model = tinyModel(backend);
      const opt = newOpt();
      const lisa = new Lisa(model, opt, lisaOpts());
      const before2 = snapshot(model, 2);
      const before3 = snapshot(model, 3);
      train(model, lisa, opt, 4); // intervals: [0,1] at steps 0-1, [2] at steps 2-3
      expect(lisa.history.map((h) => h.active)).toEqual([[0, 1], [2]]);
      const after2 = snapshot(model, 2);
      expect(after2.some((a, i) => a.some((v, j) => v !== before2[i][j]))).toBe(true);
      expect(snapshot(model, 3)).toEqual(before3);
      opt.dispose();
      model.dispose();
    });

    it('(c) reset keeps optimizer bytes flat across switches; keep grows with the blocks seen', () => {
      const bytes = (mode: 'reset' | 'keep') => {
        const model = tinyModel(backend);
        const opt = newOpt();
        const lisa = new Lisa(model, opt, lisaOpts({ gamma: 1, schedule: [[0], [1], [2], [3]], stateOnSwitch: mode }));
        const out: number[] = [];
        train(model, lisa, opt, 8, (s) => { if (s % 2 === 1) out.push(opt.stateBytes()); });
        opt.dispose();
        model.dispose();
        return out;
      };
      const reset = bytes('reset');
      const keep = bytes('keep');
      expect(new Set(reset).size).toBe(1);
      const blockBytes = keep[1] - keep[0];
      expect(blockBytes).toBeGreaterThan(0);
      expect(keep).toEqual(keep.map((_, i) => keep[0] + i * blockBytes));
      expect(reset[0]).toBe(keep[0]);
    });

    it('(d) gamma = number of blocks with keep gives the same loss trajectory as full fine-tuning', () => {
      const run = (lisa: boolean) => {
        const model = tinyModel(backend);
        const opt = newOpt();
        const method = lisa ? new Lisa(model, opt, { gamma: 4, period: 1, stateOnSwitch: 'keep', seed: 3 }) : new FullFineTune(model);
        const losses = train(model, method, opt, 6);
        expect(losses).toHaveLength(6);
        opt.dispose();
        model.dispose();
        return losses;
      };
      expect(run(true)).toEqual(run(false));
    });
  });

  it('(f) the same seed gives the same logged layer sequence; another seed differs', () => {
    const seq = (seed: number, sampling: 'uniform' | 'reshuffle' | 'weighted') => {
      const model = createModel(parseConfig({ ...fx.config, num_hidden_layers: 8 }), { shapeOnly: true });
      const lisa = new Lisa(model, newOpt(), {
        gamma: 2, period: 3, seed, sampling, probabilities: sampling === 'weighted' ? [0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1] : undefined,
      });
      for (let s = 0; s < 30; s++) lisa.beginStep(s);
      return lisa.history;
    };
    for (const kind of ['uniform', 'reshuffle', 'weighted'] as const) {
      const a = seq(7, kind);
      expect(a.map((h) => h.step)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
      expect(a.every((h) => h.active.length === 2 && h.active[0] !== h.active[1])).toBe(true);
      expect(seq(7, kind)).toEqual(a);
      expect(seq(8, kind)).not.toEqual(a);
    }
    // reshuffle visits every block once per pass of 8/2 = 4 samplings
    const r = seq(5, 'reshuffle');
    expect(r.slice(0, 4).flatMap((h) => h.active).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('sampler state saves and restores: a restored run continues the same sequence', () => {
    const model = createModel(parseConfig({ ...fx.config, num_hidden_layers: 8 }), { shapeOnly: true });
    const a = new Lisa(model, newOpt(), { gamma: 3, period: 1, seed: 11 });
    for (let s = 0; s < 5; s++) a.beginStep(s);
    const saved = JSON.parse(JSON.stringify(a.saveState()));
    for (let s = 5; s < 10; s++) a.beginStep(s);
    const b = new Lisa(model, newOpt(), { gamma: 3, period: 1, seed: 999 });
    b.loadState(saved);
    expect(b.activeBlocks()).toEqual(a.history[4].active);
    for (let s = 5; s < 10; s++) b.beginStep(s);
    expect(b.history.map((h) => h.active)).toEqual(a.history.slice(5).map((h) => h.active));
  });

  it('exact trainable-parameter counts with gamma=2 and always-train E+H+final norm (shape-only)', () => {
    for (const [cfg, expected] of [[GPT2_SMALL, 53_561_088], [TINYLLAMA_1_1B, 219_162_624], [LLAMA2_7B, 666_914_816], [LLAMA31_8B, 1_486_901_248]] as const) {
      const model = createModel(parseConfig(cfg), { shapeOnly: true });
      const lisa = new Lisa(model, newOpt(), { gamma: 2, period: 5, seed: 1 });
      lisa.beginStep(0);
      expect(model.numParameters(true)).toBe(expected);
    }
  });

  it('rejects bad options with clear errors', () => {
    const model = createModel(parseConfig(fx.config), { shapeOnly: true });
    const mk = (o: Partial<LisaOptions>) => () => new Lisa(model, newOpt(), { gamma: 2, period: 1, ...o });
    expect(mk({ gamma: 5 })).toThrow(/gamma 5 is larger than the number of blocks \(4\)/);
    expect(mk({ period: 0 })).toThrow(/period must be an integer >= 1/);
    expect(mk({ sampling: 'weighted', probabilities: [0.5, 0.5, 0.5, 0.5] })).toThrow(/probabilities sum to 2, expected 1/);
    expect(mk({ sampling: 'weighted', probabilities: [0.5, 0.5] })).toThrow(/probabilities have 2 entries, expected one per block \(4\)/);
    expect(mk({ schedule: [[0, 9]] })).toThrow(/schedule\[0\] must be distinct block indices in \[0, 4\)/);
    expect(mk({ alwaysTrain: ['bogus' as never] })).toThrow(/unknown alwaysTrain entry 'bogus'/);
  });
});
