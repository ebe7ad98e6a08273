// Test helper: the tiny-Llama LISA run of test/fixtures/lisa.json (PyTorch reference) as a `lisa train` setup:
// a model folder with only config.json and model.safetensors, pre-tokenized data, and a config file.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { repoRoot } from '../helpers.js';

export const lisaFixture = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/lisa.json'), 'utf8'));

export function writeFixtureRun(overrides: Record<string, unknown> = {}, steps = 8): { root: string; configPath: string; out: string } {
  const fx = lisaFixture;
  const root = mkdtempSync(join(tmpdir(), 'lisa-run-'));
  const modelDir = join(root, 'model');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'config.json'), JSON.stringify(fx.config));
  const shapes: Record<string, number[]> = {};
  const c = fx.config;
  const hs = c.hidden_size / c.num_attention_heads;
  shapes['model.embed_tokens.weight'] = [c.vocab_size, c.hidden_size];
  shapes['model.norm.weight'] = [c.hidden_size];
  shapes['lm_head.weight'] = [c.vocab_size, c.hidden_size];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    Object.assign(shapes, {
      [`${p}input_layernorm.weight`]: [c.hidden_size], [`${p}post_attention_layernorm.weight`]: [c.hidden_size],
      [`${p}self_attn.q_proj.weight`]: [c.num_attention_heads * hs, c.hidden_size],
      [`${p}self_attn.k_proj.weight`]: [c.num_key_value_heads * hs, c.hidden_size],
      [`${p}self_attn.v_proj.weight`]: [c.num_key_value_heads * hs, c.hidden_size],
      [`${p}self_attn.o_proj.weight`]: [c.hidden_size, c.num_attention_heads * hs],
      [`${p}mlp.gate_proj.weight`]: [c.intermediate_size, c.hidden_size], [`${p}mlp.up_proj.weight`]: [c.intermediate_size, c.hidden_size],
      [`${p}mlp.down_proj.weight`]: [c.hidden_size, c.intermediate_size],
    });
  }
  writeSafetensors(join(modelDir, 'model.safetensors'),
    Object.entries(shapes).map(([name, shape]) => ({ name, shape, data: Float32Array.from(fx.init[name]) })));
  // Each row: the T inputs plus the last target (targets are the inputs shifted by one).
  const rows: string[] = [];
  for (const d of fx.data) {
    for (let b = 0; b < fx.B; b++) {
      const ids = d.ids.slice(b * fx.T, (b + 1) * fx.T);
      rows.push(JSON.stringify({ input_ids: [...ids, d.targets[(b + 1) * fx.T - 1]] }));
    }
  }
  const dataPath = join(root, 'data.jsonl');
  writeFileSync(dataPath, `${rows.join('\n')}\n`);
  const out = join(root, 'out');
  const config = {
    model: modelDir,
    data: { path: dataPath, format: 'pretokenized', shuffle: false, evalSplit: 0, maxLength: 64 },
    method: { kind: 'lisa', gamma: 1, period: fx.period, schedule: fx.schedule, stateOnSwitch: 'reset' },
    optim: { lr: fx.lr, weightDecay: fx.weightDecay, maxGradNorm: null },
    train: { steps, batchSize: fx.B, seed: 1, logEvery: 1 },
    out,
    ...overrides,
  };
  const configPath = join(root, 'config.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return { root, configPath, out };
}

export function readMetrics(out: string): { step: number; loss: number; activeLayers?: number[] }[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
