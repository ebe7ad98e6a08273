// The compare config: defaults (the paper's four methods over 3 seeds), presets overridden by name, the
// per-run configs (same base and data, seeds train.seed + i), and errors that name the key with a suggestion.
import { describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';
import { planCompare } from '../../src/compare/config.js';

const base = {
  model: { init: { architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 64, hidden_size: 16, intermediate_size: 32,
    num_hidden_layers: 4, num_attention_heads: 2, max_position_embeddings: 32 } },
  data: { path: 'data.jsonl', format: 'pretokenized' },
  train: { steps: 5, seed: 7 },
  out: 'cmp-out',
};

describe('compare config', () => {
  it('defaults to full, LoRA r=128, LISA uniform and LISA weighted over 3 seeds', () => {
    const p = planCompare(base, 'c.yaml');
    expect(p.seeds).toEqual([7, 8, 9]);
    expect(p.methods.map((m) => m.name)).toEqual(['full', 'lora', 'lisa', 'lisa-weighted']);
    expect(p.runs).toHaveLength(12);
    // One init base for every run: weights seeded by train.seed, written once to OUT/base.
    expect(p.base).toEqual({ ref: join(resolve('cmp-out'), 'base'), init: { config: base.model.init, seed: 7 } });
    const seed8 = p.runs.filter((r) => r.seed === 8);
    expect(seed8.map((r) => r.method)).toEqual(['full', 'lora', 'lisa', 'lisa-weighted']);
    const [full, lora, lisa, weighted] = seed8.map((r) => r.config);
    expect(full.method).toEqual({ kind: 'full' });
    expect(lora.method).toMatchObject({ kind: 'lora', rank: 128, alpha: 256, targets: 'all-linear' });
    expect(lisa.method).toMatchObject({ kind: 'lisa', gamma: 2, sampling: 'uniform' });
    expect(weighted.method).toMatchObject({ kind: 'lisa', gamma: 2, sampling: 'weighted', profile: join(resolve('cmp-out'), 'runs', 'lisa-weighted', 'seed-8', 'profile.json') });
    expect(seed8[3].profileFrom?.dir).toBe(join(resolve('cmp-out'), 'runs', 'lora', 'seed-8'));
    for (const c of [full, lora, lisa, weighted]) {
      expect(c.train.seed).toBe(8);
      expect(c.train.steps).toBe(5);
      expect(c.data).toEqual(full.data);
      expect(c.model).toBe(join(resolve('cmp-out'), 'base'));
    }
  });

  it('overrides a preset by name, merges optim, and honours --seeds, --methods and --out', () => {
    const p = planCompare({ ...base, optim: { lr: 1e-3 }, compare: { seeds: 1, methods: [{ name: 'lora', method: { rank: 4 }, optim: { lr: 5e-3 } }, 'full'] } },
      'c.yaml', { seeds: 2, methods: ['full', 'lora'], out: '/tmp/x' });
    expect(p.out).toBe('/tmp/x');
    expect(p.runs.map((r) => `${r.method}/${r.seed}`)).toEqual(['full/7', 'lora/7', 'full/8', 'lora/8']);
    expect(p.runs[1].config.method).toMatchObject({ kind: 'lora', rank: 4, alpha: 8 });
    expect(p.runs[1].config.optim.lr).toBe(5e-3);
    expect(p.runs[0].config.optim.lr).toBe(1e-3);
    expect(p.runs[1].dir).toBe('/tmp/x/runs/lora/seed-7');
  });

  it('names bad keys and values, with suggestions', () => {
    expect(() => planCompare({ ...base, compre: {} }, 'c.yaml')).toThrow("c.yaml: unknown key 'compre' (did you mean 'compare'?)");
    expect(() => planCompare({ ...base, compare: { seed: 2 } }, 'c.yaml')).toThrow("c.yaml: unknown key 'compare.seed' (did you mean 'seeds'?)");
    expect(() => planCompare({ ...base, compare: { seeds: 0 } }, 'c.yaml')).toThrow("c.yaml: 'compare.seeds' = 0");
    expect(() => planCompare({ ...base, compare: { methods: ['lora', 'lisa-weigthed'] } }, 'c.yaml')).toThrow("'compare.methods.1' = 'lisa-weigthed': not a known method (did you mean 'lisa-weighted'?)");
    expect(() => planCompare({ ...base, compare: { methods: [{ name: 'l2', mehtod: {} }] } }, 'c.yaml')).toThrow("unknown key 'compare.methods.0.mehtod' (did you mean 'method'?)");
    expect(() => planCompare({ ...base, compare: { methods: [{ name: 'x', method: { kind: 'lisa', gama: 2 } }] } }, 'c.yaml')).toThrow("c.yaml (compare method 'x'): unknown key 'method.gama' (did you mean 'method.gamma'?)");
    expect(() => planCompare({ ...base, compare: { methods: ['full', 'lisa-weighted'] } }, 'c.yaml')).toThrow("method 'lisa-weighted' takes its norms profile from 'lora', which is not among the methods compared (full, lisa-weighted)");
    expect(() => planCompare({ ...base, compare: { methods: ['full', 'full'] } }, 'c.yaml')).toThrow("names 'full' twice");
    expect(() => planCompare(base, 'c.yaml', { methods: ['lorra'] })).toThrow("--methods: unknown method 'lorra' (did you mean 'lora'?)");
  });
});
