// Generation: KV-cached greedy decoding equals recomputing the whole sequence each step; seeded sampling is
// reproducible; top-k=1 and a tiny top-p are greedy; sampling follows softmax(logits / T); memory stays flat.
import { describe, expect, it } from 'vitest';
import { createModel, parseConfig, initWeights, type CausalLM } from '../../src/models/index.js';
import { argmax, generate, sampleToken } from '../../src/models/generate.js';
import { noGrad } from '../../src/autograd/tape.js';
import { memoryReport } from '../../src/tensor/memory.js';
import { ArgumentError, IndexError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { BACKENDS } from '../backends-under-test.js';
import type { Backend } from '../../src/backends/backend.js';

const llamaCfg = { model_type: 'llama', vocab_size: 48, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, eos_token_id: 2 };
const gpt2Cfg = { model_type: 'gpt2', vocab_size: 48, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 };

function build(cfg: object, backend: Backend, seed = 7): CausalLM {
  const m = createModel(parseConfig(cfg), { backend });
  initWeights(m, new Rng(seed), 0.3);
  return m;
}

/** Greedy decoding without a cache: the whole sequence goes through the model at every step. */
function uncachedGreedy(model: CausalLM, prompt: number[], n: number): number[] {
  const ids = [...prompt];
  const V = model.config.vocabSize;
  for (let i = 0; i < n; i++) {
    const y = noGrad(() => model.forward(Int32Array.from(ids), 1, ids.length).toArray()); // (1, T, V)
    ids.push(argmax(y.slice((ids.length - 1) * V)));
  }
  return ids.slice(prompt.length);
}

const PROMPT = [1, 17, 5, 40, 9];

describe.each(BACKENDS)('generate (%s)', (_n, backend) => {
  it.each([['llama', llamaCfg], ['gpt2', gpt2Cfg]])('%s: cached greedy equals uncached greedy recomputation', (_m, cfg) => {
    const model = build(cfg, backend);
    const r = generate(model, PROMPT, { maxNewTokens: 20, temperature: 0, eosIds: [] });
    expect(r.stopReason).toBe('length');
    expect(r.tokens).toEqual(uncachedGreedy(model, PROMPT, 20));
    expect(new Set(r.tokens).size).toBeGreaterThan(1);
  });

  it('seeded sampling is reproducible and depends on the seed', () => {
    const model = build(llamaCfg, backend);
    const opts = { maxNewTokens: 20, temperature: 1.5, eosIds: [] };
    const a = generate(model, PROMPT, { ...opts, seed: 11 }).tokens;
    expect(generate(model, PROMPT, { ...opts, seed: 11 }).tokens).toEqual(a);
    expect(generate(model, PROMPT, { ...opts, seed: 11, topK: 10, topP: 0.9 }).tokens).toEqual(generate(model, PROMPT, { ...opts, seed: 11, topK: 10, topP: 0.9 }).tokens);
    expect(generate(model, PROMPT, { ...opts, seed: 12 }).tokens).not.toEqual(a);
    // An Rng passed in advances: two calls continue one stream.
    const rng = new Rng(11);
    expect(generate(model, PROMPT, { ...opts, rng }).tokens).toEqual(a);
    expect(generate(model, PROMPT, { ...opts, rng }).tokens).not.toEqual(a);
  });

  it('top-k = 1 and a tiny top-p equal greedy at any temperature', () => {
    const model = build(llamaCfg, backend);
    const greedy = generate(model, PROMPT, { maxNewTokens: 15, temperature: 0, eosIds: [] }).tokens;
    expect(generate(model, PROMPT, { maxNewTokens: 15, temperature: 2, topK: 1, seed: 3, eosIds: [] }).tokens).toEqual(greedy);
    expect(generate(model, PROMPT, { maxNewTokens: 15, temperature: 2, topP: 1e-9, seed: 3, eosIds: [] }).tokens).toEqual(greedy);
  });

  it('stops at an end token (included), at the context length, or when onToken returns false', () => {
    const model = build(llamaCfg, backend);
    const greedy = generate(model, PROMPT, { maxNewTokens: 10, temperature: 0, eosIds: [] }).tokens;
    const stopAt = greedy[3];
    const first = greedy.indexOf(stopAt);
    expect(generate(model, PROMPT, { maxNewTokens: 10, temperature: 0, eosIds: [stopAt] })).toEqual({ tokens: greedy.slice(0, first + 1), stopReason: 'eos' });
    // Default end tokens come from the config (eos_token_id 2 here).
    const d = generate(model, PROMPT, { maxNewTokens: 10, temperature: 0 });
    expect(d.tokens.slice(0, -1)).not.toContain(2);
    // Context 32: a 30-token prompt leaves room to feed 2 more tokens, so 3 are chosen.
    const long = Array.from({ length: 30 }, (_, i) => (i * 7) % 48);
    expect(generate(model, long, { maxNewTokens: 10, temperature: 0, eosIds: [] })).toMatchObject({ stopReason: 'context' });
    expect(generate(model, long, { maxNewTokens: 10, temperature: 0, eosIds: [] }).tokens).toHaveLength(3);
    const seen: number[] = [];
    const cb = generate(model, PROMPT, { maxNewTokens: 10, temperature: 0, eosIds: [], onToken: (id, i) => { seen.push(id); return i < 4; } });
    expect(cb).toEqual({ tokens: greedy.slice(0, 5), stopReason: 'callback' });
    expect(seen).toEqual(greedy.slice(0, 5));
    expect(generate(model, PROMPT, { maxNewTokens: 0 })).toEqual({ tokens: [], stopReason: 'length' });
  });

  it('memory stays flat: live tensors are constant over the steps and all freed at the end', () => {
    const model = build(llamaCfg, backend);
    const before = memoryReport();
    const counts: number[] = [];
    const bytes: number[] = [];
    generate(model, PROMPT, { maxNewTokens: 20, temperature: 0.8, seed: 1, eosIds: [], onToken: () => {
      const m = memoryReport();
      counts.push(m.liveStorages);
      bytes.push(m.liveTotal);
    } });
    // Per step, only the KV cache grows: 2 (k, v) * L layers * nkv * hs floats.
    expect(new Set(counts).size).toBe(1);
    const growth = bytes.slice(1).map((b, i) => b - bytes[i]);
    expect(new Set(growth)).toEqual(new Set([2 * 2 * 2 * 4 * 4]));
    const after = memoryReport();
    expect(after.liveStorages).toBe(before.liveStorages);
    expect(after.liveTotal).toBe(before.liveTotal);
  });
});

describe('sampleToken', () => {
  const logits = Float64Array.from([1, 3, 0.5, 2.5, -1, 3]);
  const freq = (o: { temperature: number; topK: number; topP: number }, n = 20000) => {
    const rng = new Rng(5);
    const c = new Array(logits.length).fill(0);
    for (let i = 0; i < n; i++) c[sampleToken(logits, o, rng)]++;
    return c.map((x) => x / n);
  };
  const softmax = (z: number[]) => {
    const m = Math.max(...z);
    const e = z.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  };

  it('greedy picks the first maximum', () => {
    expect(sampleToken(logits, { temperature: 0, topK: 0, topP: 1 }, new Rng(1))).toBe(1);
  });

  it('samples from softmax(logits / T)', () => {
    const f = freq({ temperature: 2, topK: 0, topP: 1 });
    softmax(Array.from(logits, (x) => x / 2)).forEach((p, i) => expect(Math.abs(f[i] - p)).toBeLessThan(0.015));
  });

  it('top-k keeps the k most likely (and ties with the k-th)', () => {
    const f = freq({ temperature: 1, topK: 3, topP: 1 });
    const p = softmax([3, 2.5, 3]);
    expect(f[1]).toBeCloseTo(p[0], 1);
    expect(f[3]).toBeCloseTo(p[1], 1);
    expect(f[5]).toBeCloseTo(p[2], 1);
    expect(f[0] + f[2] + f[4]).toBe(0);
    // k = 2 with a tie at the second place keeps both tied tokens only.
    const f2 = freq({ temperature: 1, topK: 2, topP: 1 });
    expect(f2[1]).toBeCloseTo(0.5, 1);
    expect(f2[5]).toBeCloseTo(0.5, 1);
  });

  it('top-p keeps the smallest most-likely set reaching p', () => {
    const p = softmax(Array.from(logits));
    // Sorted: ids 1, 5 (tied, lower id first), 3, 0, 2, 4. Mass of {1, 5} < 0.8 <= mass of {1, 5, 3}.
    expect(p[1] + p[5]).toBeLessThan(0.8);
    expect(p[1] + p[5] + p[3]).toBeGreaterThan(0.8);
    const f = freq({ temperature: 1, topK: 0, topP: 0.8 });
    expect(f[0] + f[2] + f[4]).toBe(0);
    const kept = p[1] + p[5] + p[3];
    expect(f[3]).toBeCloseTo(p[3] / kept, 1);
  });
});

describe('generate: bad arguments', () => {
  const model = build(llamaCfg, BACKENDS[0][1]);
  it.each([
    [{ temperature: -1 }, /temperature must be a finite number >= 0, got -1/],
    [{ topP: 0 }, /topP must be in \(0, 1\]/],
    [{ topK: 1.5 }, /topK must be an integer >= 0/],
    [{ maxNewTokens: -2 }, /maxNewTokens must be an integer >= 0/],
  ])('%o', (opts, msg) => {
    expect(() => generate(model, PROMPT, opts)).toThrow(ArgumentError);
    expect(() => generate(model, PROMPT, opts)).toThrow(msg);
  });
  it('empty, out-of-vocabulary and over-long prompts', () => {
    expect(() => generate(model, [])).toThrow(/the prompt has no tokens/);
    expect(() => generate(model, [1, 48])).toThrow(IndexError);
    expect(() => generate(model, [1, 48])).toThrow(/prompt token 1 is 48; expected an id in \[0, 48\)/);
    expect(() => generate(model, new Array(33).fill(1))).toThrow(/33 tokens, more than the model's context of 32/);
  });
});
