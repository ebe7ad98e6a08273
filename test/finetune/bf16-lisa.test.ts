// weightDtype bfloat16 under LISA against PyTorch (test/fixtures/bf16.json, scripts/gen_bf16_fixture.py): bf16
// storage, fp32 masters for trainable tensors, AdamW on masters, masters rounded back to bf16 when a block
// leaves the active set. Per-step losses within 2e-4 relative on every backend, final weights, memory.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../../src/backends/backend.js';
import { createModel, parseConfig, type CausalLM } from '../../src/models/index.js';
import { scope } from '../../src/tensor/scope.js';
import { memoryReport } from '../../src/tensor/memory.js';
import { castToBf16, masterBytes } from '../../src/tensor/precision.js';
import { backward } from '../../src/autograd/backward.js';
import { crossEntropy } from '../../src/ops/index.js';
import { lmLoss } from '../../src/models/lm-loss.js';
import { noGrad } from '../../src/autograd/tape.js';
import { AdamW } from '../../src/optim/adamw.js';
import { Lisa } from '../../src/finetune/lisa.js';
import { FullFineTune } from '../../src/finetune/full.js';
import { LoraFineTune } from '../../src/finetune/lora.js';
import { estimateMemory, measureMemory } from '../../src/finetune/memory-estimate.js';
import { runMemory } from '../../src/cli/memory.js';
import { BACKENDS } from '../backends-under-test.js';
import { repoRoot } from '../helpers.js';

const fx = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/bf16.json'), 'utf8'));

function bf16Model(backend: Backend): CausalLM {
  const m = createModel(parseConfig(fx.config), { backend });
  for (const [name, p] of m.namedParameters()) p.buf.set(fx.init[name]);
  castToBf16(m.parameters());
  return m;
}

const newOpt = () => new AdamW({ lr: fx.lr, weightDecay: fx.weightDecay, beta1: fx.betas[0], beta2: fx.betas[1], eps: fx.eps });

function step(model: CausalLM, method: { beginStep(s: number): void; trainableParameters(): ReturnType<CausalLM['parameters']> }, opt: AdamW, s: number,
  fused = false): number {
  method.beginStep(s);
  const d = fx.data[s % fx.data.length];
  const loss = scope(() => {
    const l = fused ? lmLoss(model, Int32Array.from(d.ids), Int32Array.from(d.targets), fx.B, fx.T, { chunkRows: 5 })
      : crossEntropy(model.forward(Int32Array.from(d.ids), fx.B, fx.T), Int32Array.from(d.targets));
    backward(l);
    return l.item();
  });
  opt.step(method.trainableParameters());
  for (const p of model.parameters()) p.zeroGrad();
  return loss;
}

const blockOf = (n: string) => (n.startsWith('model.layers.') ? Number(n.split('.')[2]) : null);

describe.each(BACKENDS)('weightDtype bfloat16 on %s', (_n, backend) => {
  it('loading rounds every weight to bf16 exactly as torch does; weights count 2 bytes per element', () => {
    const before = memoryReport().live.weights;
    const model = bf16Model(backend);
    const numel = model.parameters().reduce((n, p) => n + p.size, 0);
    expect(memoryReport().live.weights - before).toBe(2 * numel);
    for (const [name, p] of model.namedParameters()) {
      expect(p.dtype).toBe('bfloat16');
      expect(Array.from(p.bits), name).toEqual(fx.initBf16[name]);
    }
    model.dispose();
  });

  it('LISA: per-step losses match the PyTorch bf16/master scheme within 2e-4 relative (reset and keep)', () => {
    for (const mode of ['reset', 'keep'] as const) {
      const model = bf16Model(backend);
      const opt = newOpt();
      const lisa = new Lisa(model, opt, { gamma: 1, period: fx.period, schedule: fx.schedule, stateOnSwitch: mode });
      const losses: number[] = [];
      for (let s = 0; s < fx.losses[mode].length; s++) {
        losses.push(step(model, lisa, opt, s));
        // Masters exactly for what trains: the active block and the always-trainable tensors.
        const active = lisa.activeBlocks();
        for (const [name, p] of model.namedParameters()) {
          const b = blockOf(name);
          const trains = b === null || active.includes(b);
          expect(p.dtype, `${name} at step ${s}`).toBe(trains ? 'float32' : 'bfloat16');
        }
      }
      losses.forEach((l, i) => expect(Math.abs(l - fx.losses[mode][i]) / fx.losses[mode][i], `${mode} step ${i}`).toBeLessThan(2e-4));
      // Final weights: masters close to torch's; bf16 weights (rounded back at a switch) bit-identical except where
      // a float32 difference sits on a rounding boundary (then one bf16 step apart).
      let bits = 0, same = 0;
      for (const [name, p] of model.namedParameters()) {
        const want = fx.final[mode][name] as number[];
        if (p.dtype === 'float32') {
          const got = p.toArray();
          got.forEach((v, i) => expect(Math.abs(v - want[i]!), name).toBeLessThan(1e-4 * (1 + Math.abs(want[i]!))));
        } else {
          const got = p.bits;
          for (let i = 0; i < got.length; i++) {
            bits++;
            if (got[i] === want[i]) same++;
            else expect(Math.abs(got[i]! - want[i]!), name).toBe(1);
          }
        }
      }
      expect(same / bits).toBeGreaterThan(0.995);
      opt.dispose();
      model.dispose();
    }
  }, 60_000);

  it('the fused chunked LM-head loss and gradient checkpointing give the same run (bf16 head frozen under LoRA)', () => {
    const runLisa = (ckpt: boolean, fused: boolean) => {
      const model = bf16Model(backend);
      model.gradientCheckpointing = ckpt;
      const opt = newOpt();
      const lisa = new Lisa(model, opt, { gamma: 1, period: fx.period, schedule: fx.schedule });
      const losses = Array.from({ length: 6 }, (_, s) => step(model, lisa, opt, s, fused));
      opt.dispose();
      model.dispose();
      return losses;
    };
    const plain = runLisa(false, false);
    expect(runLisa(true, false)).toEqual(plain);
    runLisa(true, true).forEach((l, i) => expect(Math.abs(l - plain[i]!) / plain[i]!).toBeLessThan(1e-5));
    const runLora = (fused: boolean) => {
      const model = bf16Model(backend);
      const opt = newOpt();
      const lora = new LoraFineTune(model, { rank: 2, alpha: 4, targets: 'all-linear' });
      expect(model.getParameter('lm_head.weight').dtype).toBe('bfloat16');
      const losses = Array.from({ length: 4 }, (_, s) => step(model, lora, opt, s, fused));
      opt.dispose();
      model.dispose();
      return losses;
    };
    const unfused = runLora(false);
    runLora(true).forEach((l, i) => expect(Math.abs(l - unfused[i]!) / unfused[i]!).toBeLessThan(1e-5));
  }, 60_000);

  it('a block leaving the active set is rounded back to bf16 and its master freed; memory follows', () => {
    const model = bf16Model(backend);
    const opt = newOpt();
    const lisa = new Lisa(model, opt, { gamma: 1, period: 1, schedule: [[0], [1]] });
    step(model, lisa, opt, 0);
    const b0 = model.blocks[0].parameters();
    const masters = b0.map((p) => Float32Array.from(p.buf));
    const live0 = memoryReport().live.weights;
    const mb = masterBytes(model.parameters());
    lisa.beginStep(1);
    b0.forEach((p, i) => {
      expect(p.dtype).toBe('bfloat16');
      const round = castBits(masters[i]!);
      expect(Array.from(p.bits)).toEqual(Array.from(round));
    });
    // Block 0's masters (4 bytes) became bf16 (2 bytes); block 1 went the other way; same sizes, so flat.
    expect(memoryReport().live.weights).toBe(live0);
    expect(masterBytes(model.parameters())).toBe(mb);
    opt.dispose();
    model.dispose();
  });

  it('full fine-tuning keeps masters for everything; LoRA keeps the base in bf16 and adapters in fp32', () => {
    const full = bf16Model(backend);
    const opt = newOpt();
    const ft = new FullFineTune(full);
    for (const p of full.parameters()) expect(p.dtype).toBe('float32');
    const l0 = step(full, ft, opt, 0);
    expect(Number.isFinite(l0)).toBe(true);
    opt.dispose();
    full.dispose();
    const base = bf16Model(backend);
    const opt2 = newOpt();
    const lora = new LoraFineTune(base, { rank: 2, alpha: 4, targets: ['q_proj', 'v_proj'] });
    for (const [n, p] of base.namedParameters()) expect(p.dtype, n).toBe(n.includes('lora_') ? 'float32' : 'bfloat16');
    const before = base.namedParameters().filter(([n]) => !n.includes('lora_')).map(([, p]) => Array.from(p.bits));
    for (let s = 0; s < 2; s++) step(base, lora, opt2, s);
    base.namedParameters().filter(([n]) => !n.includes('lora_')).forEach(([, p], i) => expect(Array.from(p.bits)).toEqual(before[i]));
    // Merging into the bf16 base rounds w + scale*BA once (RNE): logits move by bf16 rounding only.
    const d = fx.data[0];
    const logits = () => noGrad(() => base.forward(Int32Array.from(d.ids), fx.B, fx.T).toArray());
    const unmerged = logits();
    lora.merge();
    const merged = logits();
    merged.forEach((v, i) => expect(Math.abs(v - unmerged[i]!)).toBeLessThan(0.05));
    expect(base.getParameter('model.layers.0.self_attn.q_proj.weight').dtype).toBe('bfloat16');
    lora.unmerge();
    opt2.dispose();
    base.dispose();
  }, 60_000);
});

function castBits(v: Float32Array): Uint16Array {
  const u = new Uint32Array(v.buffer, v.byteOffset, v.length);
  const out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16;
  return out;
}

describe('lisa memory with weightDtype bfloat16', () => {
  const config = parseConfig(fx.config);
  const shape = { batch: 2, seq: 8 };
  it('weights: bf16 at rest plus fp32 masters for what trains (LISA, LoRA, full); measured equals estimated', () => {
    const lisa = estimateMemory(config, { kind: 'lisa', gamma: 1 }, shape, { weightDtype: 'bfloat16' });
    // A master is 4 bytes, not 2; while one is made, its bf16 copy is briefly alive too (the largest: 24 x 16).
    expect(lisa.bytes.weights - (2 * lisa.params.base + 2 * lisa.params.trainable)).toBe(2 * 24 * 16);
    expect(lisa.bytesPerElement).toBe(2);
    const lora = estimateMemory(config, { kind: 'lora', rank: 2, alpha: 4, targets: 'all-linear' }, shape, { weightDtype: 'bfloat16' });
    expect(lora.bytes.weights).toBe(2 * lora.params.base);
    expect(lora.bytes.adapters).toBe(4 * lora.params.adapters);
    const full = estimateMemory(config, { kind: 'full' }, shape, { weightDtype: 'bfloat16' });
    expect(full.bytes.weights).toBe(4 * full.params.base);
    const f32 = estimateMemory(config, { kind: 'lisa', gamma: 1 }, shape);
    expect(f32.bytes.weights).toBe(4 * f32.params.base);
    for (const [n, backend] of BACKENDS) {
      const m = measureMemory(config, { kind: 'lisa', gamma: 1 }, shape, { weightDtype: 'bfloat16', backend });
      expect(m.bytes, n).toEqual(lisa.bytes);
    }
  });
  it("the CLI's --weight-dtype is checked and named", () => {
    const base = { method: ['lisa'], rank: '8', targets: 'all-linear', dropout: '0', gamma: '1', batch: '1', seq: '8',
      json: true, measure: false, steps: '2', seed: '0' };
    const cfgPath = join(mkdtempSync(join(tmpdir(), 'bf16-mem-')), 'config.json');
    writeFileSync(cfgPath, JSON.stringify(fx.config));
    expect(() => runMemory({ ...base, config: cfgPath, weightDtype: 'fp16' })).toThrow(/--weight-dtype must be 'float32' or 'bfloat16', got 'fp16'/);
    const out = JSON.parse(runMemory({ ...base, config: cfgPath, weightDtype: 'bfloat16' }));
    expect(out.bytesPerElement).toBe(2);
    const text = runMemory({ ...base, json: false, config: cfgPath, weightDtype: 'bfloat16' });
    expect(text).toContain('bf16 weights (fp32 masters, compute float32)');
  });
});
