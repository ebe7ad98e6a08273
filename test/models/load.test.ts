// HF folders: save then load is bit-identical (F32; BF16 after the first rounding), sharded folders load,
// and bad folders give errors naming the file and the tensor.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, parseConfig, initWeights, loadModel, saveModel, type CausalLM } from '../../src/models/index.js';
import { Rng } from '../../src/util/rng.js';
import { cpuJs } from '../../src/backends/cpu-js/index.js';

const llamaCfg = { model_type: 'llama', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 };
const qwenCfg = { ...llamaCfg, model_type: 'qwen2', tie_word_embeddings: true };
const gpt2Cfg = { model_type: 'gpt2', vocab_size: 40, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 };

const tmp = () => mkdtempSync(join(tmpdir(), 'hf-'));
const build = (cfg: object): CausalLM => {
  const m = createModel(parseConfig(cfg), { backend: cpuJs });
  initWeights(m, new Rng(4), 0.3);
  return m;
};
const values = (m: CausalLM) => m.namedParameters().map(([n, p]) => [n, Array.from(p.buf)] as const);

describe('HF folder save/load', () => {
  it.each([['llama', llamaCfg], ['qwen2 (tied, biases)', qwenCfg], ['gpt2', gpt2Cfg]])('%s: F32 round trip is bit-identical', (_n, cfg) => {
    const m = build(cfg);
    const dir = tmp();
    saveModel(dir, m);
    expect(values(loadModel(dir, { backend: cpuJs }).model)).toEqual(values(m));
  });

  it('BF16: identical after the first rounding', () => {
    const d1 = tmp();
    const d2 = tmp();
    saveModel(d1, build(llamaCfg), { dtype: 'BF16' });
    const once = loadModel(d1, { backend: cpuJs }).model;
    saveModel(d2, once, { dtype: 'BF16' });
    expect(values(loadModel(d2, { backend: cpuJs }).model)).toEqual(values(once));
    expect(readFileSync(join(d1, 'model.safetensors')).equals(readFileSync(join(d2, 'model.safetensors')))).toBe(true);
  });

  it('sharded folders load', () => {
    const m = build(llamaCfg);
    const dir = tmp();
    const files = saveModel(dir, m, { maxShardSize: 4000 });
    expect(files.length).toBeGreaterThan(2);
    expect(files).toContain('model.safetensors.index.json');
    expect(values(loadModel(dir, { backend: cpuJs }).model)).toEqual(values(m));
  });

  it('errors name the file and the tensor', () => {
    const dir = tmp();
    saveModel(dir, build(llamaCfg));
    const cfgPath = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, intermediate_size: 20 }));
    expect(() => loadModel(dir)).toThrow(/model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight": has shape \[24, 16\] but config\.json implies \[20, 16\]/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, model_type: 'bert' }));
    expect(() => loadModel(dir)).toThrow(/config\.json: unsupported architecture \(model_type 'bert'/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, tie_word_embeddings: false, num_hidden_layers: 3 }));
    expect(() => loadModel(dir)).toThrow(/tensor "model\.layers\.2\.input_layernorm\.weight": is missing from the checkpoint/);
    writeFileSync(cfgPath, '{ not json');
    expect(() => loadModel(dir)).toThrow(/config\.json/);
  });
});
