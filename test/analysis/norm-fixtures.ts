// Test helpers for the norms analysis: tiny Llama and GPT-2 base folders with weights k/256 (so base + small
// integer deltas are exact in float32), run folders with known deltas, and PEFT adapters with given A and B.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { createModel, parseConfig } from '../../src/models/index.js';
import { Rng } from '../../src/util/rng.js';

export const LLAMA = {
  model_type: 'llama', vocab_size: 32, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 3, num_attention_heads: 4,
  num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: false,
};
export const GPT2 = { model_type: 'gpt2', vocab_size: 24, n_positions: 16, n_embd: 8, n_layer: 2, n_head: 2 };

export type Weights = Map<string, { shape: number[]; data: Float32Array }>;

/** Every parameter of the config's model, valued k/256 for seeded integers k in [-64, 64]. */
export function baseWeights(hfConfig: Record<string, unknown>, seed = 1): Weights {
  const model = createModel(parseConfig(hfConfig, 'test config'), { shapeOnly: true });
  const rng = new Rng(seed);
  const out: Weights = new Map();
  for (const [name, p] of model.namedParameters()) {
    out.set(name, { shape: [...p.shape], data: Float32Array.from({ length: p.size }, () => (rng.int(129) - 64) / 256) });
  }
  model.dispose();
  return out;
}

export function writeModelFolder(dir: string, hfConfig: Record<string, unknown>, w: Weights): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfig));
  writeSafetensors(join(dir, 'model.safetensors'), [...w].map(([name, t]) => ({ name, shape: t.shape, data: t.data })));
  return dir;
}

/** A copy of w with deltas added: {tensor: [[flat index, delta], ...]}. */
export function withDeltas(w: Weights, deltas: Record<string, [number, number][]>): Weights {
  const out: Weights = new Map([...w].map(([n, t]) => [n, { shape: t.shape, data: Float32Array.from(t.data) }]));
  for (const [name, list] of Object.entries(deltas)) for (const [i, d] of list) out.get(name)!.data[i] += d;
  return out;
}

/** A full or LISA run folder: final/ plus metrics.jsonl (LISA logs activeLayers). */
export function writeFinalRun(dir: string, hfConfig: Record<string, unknown>, w: Weights, method: 'full' | 'lisa'): string {
  writeModelFolder(join(dir, 'final'), hfConfig, w);
  const row = { step: 1, loss: 1, lr: 1e-3, gradNorm: 1, tokensPerSec: 1, memory: {}, ...(method === 'lisa' ? { activeLayers: [0] } : {}) };
  writeFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify(row)}\n`);
  return dir;
}

/** A LoRA run folder: adapter/ with PEFT's config and A (r, in), B (out, r) per module. */
export function writeLoraRun(dir: string, r: number, alpha: number, modules: Record<string, { a: number[][]; b: number[][] }>): string {
  const ad = join(dir, 'adapter');
  mkdirSync(ad, { recursive: true });
  writeFileSync(join(ad, 'adapter_config.json'), JSON.stringify({
    peft_type: 'LORA', r, lora_alpha: alpha, target_modules: Object.keys(modules).map((m) => m.split('.').pop()), bias: 'none',
    modules_to_save: null, rank_pattern: {}, alpha_pattern: {}, use_rslora: false,
  }));
  writeSafetensors(join(ad, 'adapter_model.safetensors'), Object.entries(modules).flatMap(([m, { a, b }]) => [
    { name: `base_model.model.${m}.lora_A.weight`, shape: [a.length, a[0].length], data: Float32Array.from(a.flat()) },
    { name: `base_model.model.${m}.lora_B.weight`, shape: [b.length, b[0].length], data: Float32Array.from(b.flat()) },
  ]));
  return dir;
}

/** A (rows, cols) matrix of zeros with the given entries set: [[row, col, value], ...]. */
export function matrix(rows: number, cols: number, entries: [number, number, number][]): number[][] {
  const m = Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
  for (const [i, j, v] of entries) m[i][j] = v;
  return m;
}

/** sqrt(sum of squares) of the named tensors, in float64. */
export function frob(w: Weights, names: string[]): number {
  let s = 0;
  for (const n of names) for (const x of w.get(n)!.data) s += x * x;
  return Math.sqrt(s);
}
