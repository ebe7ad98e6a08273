// Memory estimate (training steps on the meta backend) vs measurement: on tiny GPT-2 and Llama configs the estimate
// equals the accounting of real steps (and of `lisa train`'s own step) byte for byte (full, LoRA, LISA, AdamW after
// or inside backward); 7B and 70B estimates; the `lisa memory` CLI.
import { describe, it, expect, vi } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type ModelConfig } from '../../src/models/index.js';
import { estimateMemory, measureMemory, type MeasuredMemory, type MemoryEstimate, type MemoryMethod } from '../../src/finetune/memory-estimate.js';
import { runMemory, parseMethods, type MemoryCliOptions } from '../../src/cli/memory.js';
import { main } from '../../src/cli/main.js';
import { memoryReport, resetPeaks } from '../../src/tensor/memory.js';
import { pooledBytes } from '../../src/tensor/buffer-pool.js';
import type { Backend } from '../../src/backends/backend.js';
import type { NonBlockRole } from '../../src/models/index.js';
import { BACKENDS } from '../backends-under-test.js';
import { GPT2_SMALL, LLAMA2_7B, LLAMA2_70B } from '../models/known-configs.js';
import { train } from '../../src/train/trainer.js';
import { loadConfig } from '../../src/train/config.js';
import { writeFixtureRun, readMetrics, lisaFixture } from '../train/fixture-run.js';

const TINY_GPT2 = { model_type: 'gpt2', vocab_size: 97, n_positions: 64, n_embd: 32, n_layer: 3, n_head: 4 };
const TINY_LLAMA = {
  model_type: 'llama', vocab_size: 101, hidden_size: 32, intermediate_size: 72, num_hidden_layers: 3,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64,
};
const TINY_LLAMA_TIED = { ...TINY_LLAMA, tie_word_embeddings: true, num_key_value_heads: 1 };

const SHAPES: [number, number][] = [[1, 8], [2, 16], [3, 5]];

function methodsFor(family: 'gpt2' | 'llama'): [string, MemoryMethod][] {
  const some = family === 'gpt2' ? ['c_attn'] : ['q_proj', 'v_proj'];
  return [
    ['full', { kind: 'full' }],
    ['lora all-linear', { kind: 'lora', rank: 4, alpha: 8, targets: 'all-linear' }],
    [`lora ${some.join(',')}`, { kind: 'lora', rank: 3, alpha: 6, targets: some }],
    ['lora with dropout', { kind: 'lora', rank: 2, alpha: 4, targets: 'all-linear', dropout: 0.1 }],
    ['lisa gamma 1', { kind: 'lisa', gamma: 1 }],
    ['lisa gamma 2, alwaysTrain none', { kind: 'lisa', gamma: 2, alwaysTrain: [] }],
    ['lisa gamma 1, alwaysTrain head', { kind: 'lisa', gamma: 1, alwaysTrain: ['head'] }],
  ];
}

/** The estimate (meta backend) and a measurement on a real backend, with the same steps and seed. */
function compare(config: ModelConfig, method: MemoryMethod, batch: number, seq: number, opts: { seed?: number; backend?: Backend; steps?: number; period?: number; updateInBackward?: boolean } = {}) {
  const { backend, ...run } = opts;
  const e = estimateMemory(config, method, { batch, seq }, run);
  const m = measureMemory(config, method, { batch, seq }, { ...run, backend });
  return { e, m };
}

/** Everything the engine's accounting gives, byte for byte. */
function expectSameAccounting(e: MemoryEstimate, m: MeasuredMemory, where: string) {
  expect(e.bytes, where).toEqual(m.bytes);
  expect(e.peakTogether, where).toBe(m.peakTogether);
  expect(e.activations, where).toEqual(m.activations);
  expect(e.params, where).toEqual(m.params);
  expect(e.activeBlocks, where).toEqual(m.activeBlocks);
}

describe.each([
  ['tiny GPT-2', TINY_GPT2],
  ['tiny Llama (GQA)', TINY_LLAMA],
  ['tiny Llama (tied, MQA)', TINY_LLAMA_TIED],
])('the meta estimate equals the accounting of real steps on %s', (_name, raw) => {
  const config = parseConfig(raw);
  it.each(methodsFor(config.family))('%s: byte for byte on every backend, at every shape', (_m, method) => {
    for (const [name, backend] of BACKENDS) {
      for (const [B, T] of SHAPES) {
        const { e, m } = compare(config, method, B, T, { backend });
        expectSameAccounting(e, m, `${name} batch ${B} seq ${T}`);
        expect(m.bytes.activations).toBeGreaterThan(0);
        expect(e.activations.forward).toBeGreaterThan(0);
        expect(e.bytes.total).toBeGreaterThanOrEqual(e.peakTogether);
        expect(m.losses.every(Number.isFinite)).toBe(true);
        expect(e.losses.every(Number.isNaN)).toBe(true);
      }
      const { e, m } = compare(config, method, 2, 6, { backend, updateInBackward: true });
      expectSameAccounting(e, m, `${name} AdamW in backward`);
    }
  });

  it('LISA switching at every step (period 1, stateOnSwitch reset) runs on meta with the same accounting', () => {
    for (const [name, backend] of BACKENDS) {
      for (const alwaysTrain of [undefined, [] as NonBlockRole[]]) {
        const { e, m } = compare(config, { kind: 'lisa', gamma: 1, alwaysTrain }, 2, 6, { backend, steps: 4, period: 1, seed: 3 });
        expectSameAccounting(e, m, `${name} alwaysTrain ${String(alwaysTrain)}`);
      }
    }
  });
});

describe('the estimate is the trainer\'s own step', () => {
  it.each([
    ['full', { kind: 'full' }, { kind: 'full' }],
    ['lora', { kind: 'lora', rank: 2, alpha: 4, dropout: 0.1, targets: 'all-linear' }, { kind: 'lora', rank: 2, alpha: 4, dropout: 0.1, targets: 'all-linear' }],
    ['lisa', { kind: 'lisa', gamma: 2, period: 2, schedule: lisaFixture.schedule }, { kind: 'lisa', gamma: 2, schedule: lisaFixture.schedule }],
    ['full, AdamW in backward', { kind: 'full' }, { kind: 'full' }, true],
    ['lisa, AdamW in backward', { kind: 'lisa', gamma: 2, period: 2, schedule: lisaFixture.schedule }, { kind: 'lisa', gamma: 2, schedule: lisaFixture.schedule }, true],
    ['full, gradient checkpointing', { kind: 'full' }, { kind: 'full' }, false, true],
    ['lora, gradient checkpointing', { kind: 'lora', rank: 2, alpha: 4, dropout: 0.1, targets: 'all-linear' }, { kind: 'lora', rank: 2, alpha: 4, dropout: 0.1, targets: 'all-linear' }, false, true],
    ['lisa, gradient checkpointing', { kind: 'lisa', gamma: 2, period: 2, schedule: lisaFixture.schedule }, { kind: 'lisa', gamma: 2, schedule: lisaFixture.schedule }, false, true],
  ] as [string, Record<string, unknown>, MemoryMethod, boolean?, boolean?][])('%s: the peaks `lisa train` logs at step 2 equal the meta estimate', async (_n, methodCfg, method, inBackward = false, gradientCheckpointing = false) => {
    const optim = { lr: lisaFixture.lr, weightDecay: lisaFixture.weightDecay, maxGradNorm: null, updateInBackward: inBackward };
    const trainCfg = { steps: 2, batchSize: lisaFixture.B, seed: 1, logEvery: 1, gradientCheckpointing };
    const { configPath, out } = writeFixtureRun({ method: methodCfg, optim, train: trainCfg }, 2);
    const before = memoryReport();
    await train(loadConfig(configPath));
    const logged = (readMetrics(out)[1] as unknown as { memory: Record<string, number> }).memory;
    // The trainer's batches are T + 1 long (each row's last token has an ignored target).
    const e = estimateMemory(parseConfig(lisaFixture.config), method, { batch: lisaFixture.B, seq: lisaFixture.T + 1 }, { updateInBackward: inBackward, gradientCheckpointing });
    expect(logged.total - before.liveTotal).toBe(e.peakTogether);
    for (const k of ['activations', 'gradients', 'optimizer'] as const) expect(logged[k] - before.live[k], k).toBe(e.bytes[k]);
  });
});

describe('memory estimate', () => {
  it('LISA: the sampled placement is exact for its seed; the worst placement bounds every seed', () => {
    const config = parseConfig({ ...TINY_GPT2, n_layer: 5 });
    for (const alwaysTrain of [undefined, []] as const) {
      const method: MemoryMethod = { kind: 'lisa', gamma: 2, alwaysTrain: alwaysTrain ? [...alwaysTrain] : undefined };
      for (const seed of [0, 1, 2, 3, 4, 5]) {
        const e = estimateMemory(config, method, { batch: 2, seq: 7 }, { seed });
        const m = measureMemory(config, method, { batch: 2, seq: 7 }, { seed });
        expectSameAccounting(e, m, `seed ${seed}`);
        const w = e.worstPlacement;
        expect(w).toBeDefined();
        expect(w!.activeBlocks).toHaveLength(2);
        expect(m.peakTogether).toBeLessThanOrEqual(w!.peakTogether);
      }
    }
  });

  it('the estimate allocates nothing real and leaves the peaks as they were', () => {
    const config = parseConfig(TINY_GPT2);
    resetPeaks();
    const before = memoryReport();
    const pooled = pooledBytes();
    const e = estimateMemory(config, { kind: 'full' }, { batch: 2, seq: 8 });
    expect(e.peakTogether).toBeGreaterThan(0);
    expect(memoryReport()).toEqual(before);
    expect(pooledBytes()).toBe(pooled);
  });

  it('leaves no memory behind (estimate and measurement free everything they made)', () => {
    const config = parseConfig(TINY_GPT2);
    const before = memoryReport();
    estimateMemory(config, { kind: 'lora', rank: 2, alpha: 4, targets: 'all-linear' }, { batch: 1, seq: 4 });
    measureMemory(config, { kind: 'lisa', gamma: 1 }, { batch: 1, seq: 4 });
    const after = memoryReport();
    expect(after.liveTotal).toBe(before.liveTotal);
    expect(after.liveStorages).toBe(before.liveStorages);
  });

  it('LLaMA-2-70B (shape-only): weights are 4 x 68,976,648,192 bytes; trainable counts are exact', () => {
    const config = parseConfig(LLAMA2_70B);
    const shape = { batch: 1, seq: 4096 };
    const full = estimateMemory(config, { kind: 'full' }, shape);
    expect(full.bytes.weights).toBe(4 * 68_976_648_192);
    expect(full.params.trainable).toBe(68_976_648_192);
    expect(full.bytes.gradients).toBe(4 * 68_976_648_192);
    expect(full.bytes.optimizer).toBe(8 * 68_976_648_192);
    // LoRA r=16 on every linear but the head: r * (in + out) per layer
    const C = 8192, KV = 1024, I = 28672;
    const loraParams = 16 * 80 * (2 * (C + C) + 2 * (C + KV) + 3 * (C + I));
    const lora = estimateMemory(config, { kind: 'lora', rank: 16, alpha: 32, targets: 'all-linear' }, shape);
    expect(lora.params.trainable).toBe(loraParams);
    expect(lora.bytes.adapters).toBe(4 * loraParams);
    expect(lora.bytes.optimizer).toBe(8 * loraParams);
    // LISA gamma 2: two blocks + embedding, final norm and the untied head
    const block = 2 * C * C + 2 * C * KV + 3 * C * I + 2 * C;
    const lisa = estimateMemory(config, { kind: 'lisa', gamma: 2 }, shape);
    expect(lisa.params.trainable).toBe(2 * block + 2 * 32000 * C + C);
    expect(lisa.bytes.gradients).toBe(4 * lisa.params.trainable);
    for (const e of [full, lora, lisa]) {
      expect(e.bytes.activations).toBeGreaterThan(0);
      expect(Number.isSafeInteger(e.bytes.total)).toBe(true);
      expect(e.bytes.weights).toBe(full.bytes.weights);
    }
    // LISA keeps the same graph as full fine-tuning (the embedding trains), so activations match full's
    expect(lisa.bytes.activations).toBe(full.bytes.activations);
  });

  it('GPT-2 small: the tied head counts once; LoRA r=128 all-linear trains 18,874,368 parameters', () => {
    const config = parseConfig(GPT2_SMALL);
    const lisa = estimateMemory(config, { kind: 'lisa', gamma: 2 }, { batch: 1, seq: 128 });
    const C = 768;
    const block = 12 * C * C + 13 * C;
    expect(lisa.params.trainable).toBe(2 * block + 50257 * C + 1024 * C + 2 * C);
    const lora = estimateMemory(config, { kind: 'lora', rank: 128, alpha: 256, targets: 'all-linear' }, { batch: 1, seq: 128 });
    expect(lora.params.trainable).toBe(18_874_368);
    expect(lora.bytes.weights).toBe(4 * 124_439_808);
  });

  it('rejects bad shapes and methods with clear errors', () => {
    const config = parseConfig(TINY_GPT2);
    expect(() => estimateMemory(config, { kind: 'full' }, { batch: 0, seq: 4 })).toThrow(/batch must be an integer >= 1, got 0/);
    expect(() => estimateMemory(config, { kind: 'full' }, { batch: 1, seq: 65 })).toThrow(/seq 65 exceeds the model's context size 64/);
    expect(() => estimateMemory(config, { kind: 'lisa', gamma: 4 }, { batch: 1, seq: 4 })).toThrow(/gamma 4 is larger than the number of blocks \(3\)/);
    expect(() => estimateMemory(config, { kind: 'lisa', gamma: 0, alwaysTrain: [] }, { batch: 1, seq: 4 })).toThrow(/trains no parameter/);
    expect(() => estimateMemory(config, { kind: 'lora', rank: 0, alpha: 1, targets: 'all-linear' }, { batch: 1, seq: 4 })).toThrow(/rank must be an integer >= 1/);
    expect(() => estimateMemory(config, { kind: 'lora', rank: 2, alpha: 1, targets: ['q_proj'] }, { batch: 1, seq: 4 })).toThrow(/target 'q_proj' matches no linear module/);
    expect(() => estimateMemory(config, { kind: 'bogus' } as unknown as MemoryMethod, { batch: 1, seq: 4 })).toThrow(/unknown method 'bogus'/);
  });
});

describe('lisa memory (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lisa-memory-'));
  const cfgFile = join(dir, 'tiny.json');
  writeFileSync(cfgFile, JSON.stringify(TINY_GPT2));
  const modelDir = join(dir, 'model');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'config.json'), JSON.stringify(TINY_LLAMA));
  const opts = (o: Partial<MemoryCliOptions>): MemoryCliOptions => ({
    method: [], rank: '8', targets: 'all-linear', dropout: '0', gamma: '2', seq: '16', batch: '1', json: false, measure: false,
    steps: '2', seed: '0', ...o,
  });

  it('prints full, LoRA and LISA side by side with every row', () => {
    const text = runMemory(opts({ config: cfgFile, method: ['full,lora', 'lisa'], rank: '4' }));
    const lines = text.split('\n');
    expect(lines.find((l) => l.includes('full') && l.includes('lora r=4') && l.includes('lisa gamma=2'))).toBeDefined();
    for (const row of ['weights', 'trainable params', 'gradients', 'optimizer state', 'adapters', 'activations', 'total']) {
      expect(lines.some((l) => l.startsWith(row)), row).toBe(true);
    }
    expect(text).toMatch(/KiB/);
    expect(text).toMatch(/upper bound/);
  });

  it('--json gives exact bytes; --measure adds measured peaks with ratio 1 on every category', () => {
    const out = JSON.parse(runMemory(opts({ model: modelDir, method: ['lora'], targets: 'q_proj,v_proj', rank: '2', json: true, measure: true, seq: '8', batch: '2' })));
    expect(out.methods).toHaveLength(1);
    const m = out.methods[0];
    expect(m.method).toEqual({ kind: 'lora', rank: 2, alpha: 4, targets: ['q_proj', 'v_proj'], dropout: 0 });
    for (const k of ['weights', 'gradients', 'optimizer', 'adapters', 'activations', 'total']) expect(m.measured[k]).toBe(m.estimate[k]);
    expect(m.measured.peakTogether).toBe(m.estimate.peakTogether);
    expect(m.measuredActivations).toEqual(m.activations);
    const table = runMemory(opts({ config: cfgFile, method: ['full', 'lisa'], measure: true, seq: '8', gamma: '1' }));
    expect(table).toMatch(/estimate\s+measured\s+ratio/);
    for (const row of ['gradients', 'optimizer state', 'activations', 'total', 'peak together']) {
      expect(table.split('\n').find((l) => l.startsWith(row)), row).toMatch(/1\.000.*1\.000/);
    }
    expect(table).toMatch(/lisa gamma=1: blocks \[\d\] sampled with seed 0; worst placement \[\d\]/);
  });

  it('--gradient-checkpointing: lower activations; the estimate still equals the measurement', () => {
    const plain = JSON.parse(runMemory(opts({ config: cfgFile, method: ['full'], json: true, seq: '8' }))).methods[0];
    const out = JSON.parse(runMemory(opts({ config: cfgFile, method: ['full'], json: true, measure: true, seq: '8', gradientCheckpointing: true })));
    const m = out.methods[0];
    expect(out.gradientCheckpointing).toBe(true);
    expect(m.estimate).toEqual(m.measured);
    expect(m.estimate.activations).toBeLessThan(plain.estimate.activations);
    expect(m.estimate.gradients).toBe(plain.estimate.gradients);
  });

  it('--update-in-backward: gradients are freed as they are applied; the estimate still equals the measurement', () => {
    const plain = JSON.parse(runMemory(opts({ config: cfgFile, method: ['full'], json: true, seq: '8' }))).methods[0];
    const out = JSON.parse(runMemory(opts({ config: cfgFile, method: ['full'], json: true, measure: true, seq: '8', updateInBackward: true })));
    const m = out.methods[0];
    expect(out.updateInBackward).toBe(true);
    expect(m.estimate).toEqual(m.measured);
    expect(m.estimate.gradients).toBeLessThan(plain.estimate.gradients);
    expect(m.estimate.optimizer).toBe(plain.estimate.optimizer);
    expect(m.estimate.peakTogether).toBeLessThan(plain.estimate.peakTogether);
  });

  it('LLaMA-2-7B config.json (no weights file): all three methods in seconds, with no real memory allocated', () => {
    const big = join(dir, 'llama-7b');
    mkdirSync(big);
    writeFileSync(join(big, 'config.json'), JSON.stringify(LLAMA2_7B));
    const rss = process.memoryUsage().rss;
    const t0 = performance.now();
    const out = JSON.parse(runMemory(opts({ model: big, seq: '4096', rank: '16', json: true })));
    const seconds = (performance.now() - t0) / 1000;
    const grown = process.memoryUsage().rss - rss;
    expect(out.methods.map((m: { label: string }) => m.label)).toEqual(['full', 'lora r=16', 'lisa gamma=2']);
    for (const m of out.methods) {
      expect(m.estimate.weights).toBe(4 * 6_738_415_616);
      expect(m.estimate.activations).toBeGreaterThan(2 ** 30);
      expect(m.estimate.peakTogether).toBeGreaterThan(m.estimate.weights);
    }
    expect(grown, `RSS grew by ${grown} bytes`).toBeLessThan(256 * 2 ** 20);
    expect(seconds).toBeLessThan(30);
  });

  it('runs through `lisa memory` and reports bad options with clear errors', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['memory', '--config', cfgFile, '--method', 'full', '--seq', '8'])).toBe(0);
      expect(String(out.mock.calls.map((c) => c[0]).join(''))).toMatch(/activations/);
      const fails: [string[], RegExp][] = [
        [['--method', 'qlora'], /unknown method 'qlora'/],
        [['--method', 'lisa', '--gamma', '9'], /gamma 9 is larger than the number of blocks \(3\)/],
        [['--method', 'lora', '--rank', '0'], /rank must be an integer >= 1/],
        [['--method', 'lora', '--targets', 'q_proj'], /target 'q_proj' matches no linear module/],
        [['--method', 'lisa', '--always-train', 'embed,lm'], /unknown alwaysTrain entry 'lm'/],
        [['--seq', 'many'], /--seq must be an integer, got 'many'/],
      ];
      for (const [args, re] of fails) {
        err.mockClear();
        expect(await main(['memory', '--config', cfgFile, ...args])).toBe(1);
        expect(err.mock.calls.map((c) => String(c[0])).join('')).toMatch(re);
      }
      err.mockClear();
      expect(await main(['memory', '--method', 'full'])).toBe(1);
      expect(err.mock.calls.map((c) => String(c[0])).join('')).toMatch(/exactly one of --model DIR or --config FILE/);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });

  it('parses --method repeated and as comma lists, and --always-train none', () => {
    const ms = parseMethods(opts({ method: ['full,lisa', 'lora', 'full'], alwaysTrain: 'none' }));
    expect(ms.map((m) => m.kind)).toEqual(['full', 'lisa', 'lora']);
    expect(ms[1]).toEqual({ kind: 'lisa', gamma: 2, alwaysTrain: [] });
  });
});
