// Gradient checkpointing: gradients with checkpointed blocks equal the plain ones bit for bit (GPT-2 and Llama,
// full, LISA-style frozen lower part, LoRA with dropout), activation peaks are lower, and whole `lisa train`
// runs (LISA, full, LoRA) give the same losses and final weights to the byte.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, initWeights, parseConfig, KVCache, type CausalLM } from '../../src/models/index.js';
import { topoOrder } from '../../src/autograd/backward.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { backward } from '../../src/autograd/backward.js';
import { checkpoint } from '../../src/autograd/checkpoint.js';
import { crossEntropy, linear, gelu, randn, sum, mul } from '../../src/ops/index.js';
import { scope } from '../../src/tensor/scope.js';
import { memoryReport, resetPeaks } from '../../src/tensor/memory.js';
import { LoraFineTune } from '../../src/finetune/lora.js';
import { Rng } from '../../src/util/rng.js';
import type { Backend } from '../../src/backends/backend.js';
import { BACKENDS } from '../backends-under-test.js';
import { runCli } from '../cli-helpers.js';
import { writeFixtureRun, readMetrics } from '../train/fixture-run.js';
import { validateConfig, ConfigError } from '../../src/train/config.js';

const GPT2 = { model_type: 'gpt2', vocab_size: 67, n_positions: 32, n_embd: 16, n_layer: 3, n_head: 2 };
const LLAMA = {
  model_type: 'llama', vocab_size: 71, hidden_size: 16, intermediate_size: 40, num_hidden_layers: 3,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32,
};

function build(raw: Record<string, unknown>, backend: Backend): CausalLM {
  const model = createModel(parseConfig(raw), { backend });
  initWeights(model, new Rng(3), 0.2);
  return model;
}

/** One step's loss and every parameter gradient (and the LoRA rng state after it when given). */
function step(model: CausalLM, checkpointing: boolean, B = 2, T = 9) {
  model.gradientCheckpointing = checkpointing;
  const rng = new Rng(11);
  const V = model.config.vocabSize;
  const ids = Int32Array.from({ length: B * T }, () => rng.int(V));
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 5 === 2 ? -100 : rng.int(V)));
  const loss = scope(() => {
    const l = crossEntropy(model.forward(ids, B, T), targets);
    backward(l);
    return l.item();
  });
  const grads = new Map(model.namedParameters().filter(([, p]) => p.grad).map(([n, p]) => [n, p.grad!.toArray()]));
  for (const p of model.parameters()) p.zeroGrad();
  return { loss, grads };
}

function expectSame(a: ReturnType<typeof step>, b: ReturnType<typeof step>): void {
  expect(b.loss).toBe(a.loss);
  expect([...b.grads.keys()]).toEqual([...a.grads.keys()]);
  for (const [n, g] of a.grads) expect(b.grads.get(n), n).toEqual(g);
}

describe.each(BACKENDS)('gradient checkpointing on %s', (_n, backend) => {
  describe.each([['GPT-2', GPT2], ['Llama', LLAMA], ['Llama (tied)', { ...LLAMA, tie_word_embeddings: true }]])('%s', (_m, raw) => {
    it('full fine-tuning: every parameter gradient equals the non-checkpointed one exactly', () => {
      const model = build(raw, backend);
      const plain = step(model, false);
      expect(plain.grads.size).toBe(model.parameters().length);
      const before = memoryReport();
      expectSame(plain, step(model, true));
      const after = memoryReport();
      expect([after.liveTotal, after.liveStorages], 'a checkpointed step leaves nothing behind').toEqual([before.liveTotal, before.liveStorages]);
    });

    it('LISA-style: frozen embedding and block 0, only block 1 and the head train (the node is recorded without a grad input)', () => {
      const model = build(raw, backend);
      model.freeze();
      model.blocks[1].unfreeze();
      const head = model.plainHead()!.weight;
      head.requiresGrad = true;
      const plain = step(model, false);
      expect([...plain.grads.keys()].some((n) => n.includes('.1.'))).toBe(true);
      expectSame(plain, step(model, true));
      // Only the lowest block trains: its input needs no gradient.
      model.freeze();
      model.blocks[0].unfreeze();
      const low = step(model, false);
      expect(low.grads.size).toBe(model.blocks[0].parameters().length);
      expectSame(low, step(model, true));
    });

    it('LoRA with dropout: the recompute replays the same masks; the dropout RNG ends in the same state', () => {
      const model = build(raw, backend);
      const lora = new LoraFineTune(model, { rank: 2, alpha: 4, targets: 'all-linear', dropout: 0.3, seed: 5 });
      // B starts at zero; give it values so the adapters' gradients depend on the masks everywhere.
      for (const p of lora.trainableParameters()) if (p.name?.includes('lora_B')) p.buf.fill(0.05);
      const s0 = lora.rngStates();
      const plain = step(model, false);
      const s1 = lora.rngStates();
      lora.loadRngStates(s0);
      const ck = step(model, true);
      expect(lora.rngStates()).toEqual(s1);
      expectSame(plain, ck);
    });
  });

  it('a forward with a KV cache never checkpoints; a training forward records one checkpoint node per block', () => {
    const model = build(LLAMA, backend);
    model.gradientCheckpointing = true;
    const ops = (root: Tensor) => topoOrder(root, (t) => t.requiresGrad).map((t) => t.node?.op).filter(Boolean);
    scope(() => {
      expect(ops(model.forward(Int32Array.from([1, 2, 3]), 1, 3)).filter((o) => o === 'checkpoint')).toHaveLength(3);
      const cache = new KVCache(3);
      expect(ops(model.forward(Int32Array.from([1, 2, 3]), 1, 3, cache))).not.toContain('checkpoint');
      cache.dispose();
    });
  });

  it('checkpoint(fn, x, params): dx and parameter gradients equal the plain graph; frozen parameters get none', () => {
    const rng = new Rng(2);
    const x = randn([3, 4], rng, { backend });
    const w1 = randn([6, 4], rng, { backend });
    const w2 = randn([4, 6], rng, { backend });
    const cot = randn([3, 4], rng, { backend });
    const fn = (h: typeof x) => linear(gelu(linear(h, w1)), w2);
    const run = (ck: boolean) => {
      x.requiresGrad = true;
      w1.requiresGrad = true;
      w2.requiresGrad = false;
      scope(() => backward(sum(mul(ck ? checkpoint(fn, x, [w1, w2]) : fn(x), cot))));
      const out = [x.grad!.toArray(), w1.grad!.toArray(), w2.grad];
      x.grad?.dispose();
      x.grad = null;
      w1.grad?.dispose();
      w1.grad = null;
      return out;
    };
    expect(run(true)).toEqual(run(false));
  });
});

describe('gradient checkpointing memory', () => {
  it.each([['GPT-2', { ...GPT2, n_layer: 6 }], ['Llama', { ...LLAMA, num_hidden_layers: 6 }]])('%s with 6 blocks: peak activation bytes are lower', (_m, raw) => {
    const [, backend] = BACKENDS[BACKENDS.length - 1];
    const model = build(raw, backend);
    const peak = (ck: boolean) => {
      model.gradientCheckpointing = ck;
      const before = memoryReport().live.activations;
      resetPeaks();
      step(model, ck, 4, 24);
      return memoryReport().peak.activations - before;
    };
    const plain = peak(false);
    const ck = peak(true);
    console.log(`${_m} 6 blocks B=4 T=24: peak activations ${plain} B plain, ${ck} B checkpointed (${(ck / plain).toFixed(3)})`);
    expect(ck).toBeLessThan(0.7 * plain);
  });
});

describe('lisa train with train.gradientCheckpointing', () => {
  it('the config key defaults to false and must be a boolean', () => {
    const base = { model: 'm', data: { path: 'd.jsonl' }, out: 'o' };
    expect(validateConfig(base).train.gradientCheckpointing).toBe(false);
    expect(validateConfig({ ...base, train: { gradientCheckpointing: true } }).train.gradientCheckpointing).toBe(true);
    expect(() => validateConfig({ ...base, train: { gradientCheckpointing: 'yes' } }, 'c.yaml')).toThrow(ConfigError);
    expect(() => validateConfig({ ...base, train: { gradientCheckpointing: 'yes' } }, 'c.yaml')).toThrow(/c.yaml: 'train.gradientCheckpointing' = "yes"/);
  });

  const bytes = (p: string) => readFileSync(p);

  it('a run resumed with gradient checkpointing switched on (after running out of memory, say) ends as the uninterrupted run', async () => {
    const train = { steps: 4, batchSize: 2, seed: 1, saveEvery: 2 };
    const whole = writeFixtureRun({ method: { kind: 'full' }, train: { ...train, steps: 6 } });
    expect((await runCli(['train', whole.configPath])).code).toBe(0);
    const r = writeFixtureRun({ method: { kind: 'full' }, train });
    expect((await runCli(['train', r.configPath])).code).toBe(0);
    const res = await runCli(['train', r.configPath, '--resume', '--set', 'train.steps=6', 'train.gradientCheckpointing=true']);
    expect(res.code, res.err).toBe(0);
    expect(readMetrics(r.out).map((m) => m.loss)).toEqual(readMetrics(whole.out).map((m) => m.loss));
    expect(bytes(join(r.out, 'final/model.safetensors')).equals(bytes(join(whole.out, 'final/model.safetensors')))).toBe(true);
  });
  it.each([
    ['LISA', {}, 'final/model.safetensors'],
    ['full, 2 micro-batches per step', { method: { kind: 'full' }, train: { gradAccum: 2 } }, 'final/model.safetensors'],
    ['full, AdamW inside backward (optim.updateInBackward)', { method: { kind: 'full' }, optim: { lr: 1e-2, maxGradNorm: null, updateInBackward: true } }, 'final/model.safetensors'],
    ['LoRA with dropout', { method: { kind: 'lora', rank: 4, alpha: 8, dropout: 0.2, targets: 'all-linear' }, optim: { lr: 0.02 } }, 'adapter/adapter_model.safetensors'],
  ] as [string, Record<string, unknown>, string][])('%s: same losses and final weights, bit for bit', async (_m, overrides, file) => {
    const runs = [];
    for (const gc of [false, true]) {
      const base = writeFixtureRun({}, 5);
      const cfg = JSON.parse(readFileSync(base.configPath, 'utf8'));
      const r = writeFixtureRun({ ...overrides, train: { ...cfg.train, ...(overrides.train as object), gradientCheckpointing: gc } }, 5);
      expect((await runCli(['train', r.configPath])).code).toBe(0);
      const metrics = readMetrics(r.out) as unknown as { loss: number; memory: { activations: number } }[];
      runs.push({ losses: metrics.map((m) => m.loss), weights: bytes(join(r.out, file)), act: Math.max(...metrics.map((m) => m.memory.activations)) });
    }
    expect(runs[0].losses).toHaveLength(5);
    expect(runs[1].losses).toEqual(runs[0].losses);
    expect(Buffer.compare(runs[1].weights, runs[0].weights)).toBe(0);
    expect(runs[1].act, 'checkpointing reached the model: lower activation peaks').toBeLessThan(runs[0].act);
  });
});
