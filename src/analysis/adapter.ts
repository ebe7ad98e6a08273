// A PEFT LoRA adapter folder read for the norms analysis: scale (lora_alpha / r, or / sqrt(r) with rsLoRA) and the
// A, B values of each adapted module, each checked against the base model's linear layers.
import { join } from 'node:path';
import { readJsonObject } from '../io/hf-folder.js';
import { readSafetensors } from '../io/safetensors.js';
import type { LayerPartition } from '../models/layer-partition.js';
import { NormsError } from './errors.js';

export interface Adapter {
  file: string;
  scale: number;
  /** Module name (e.g. 'model.layers.0.self_attn.q_proj') -> A (r, in) and B (out, r) values. */
  modules: Map<string, { r: number; a: Float32Array; b: Float32Array }>;
}

const KEY = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/;

export function readAdapter(dir: string, parts: LayerPartition): Adapter {
  const cfgFile = join(dir, 'adapter_config.json');
  const cfg = readJsonObject(cfgFile);
  if (cfg['peft_type'] !== 'LORA') throw new NormsError(`${cfgFile}: peft_type is ${JSON.stringify(cfg['peft_type'])}, expected "LORA"`);
  const r = cfg['r'];
  const alpha = cfg['lora_alpha'];
  if (!Number.isSafeInteger(r) || (r as number) < 1) throw new NormsError(`${cfgFile}: 'r' must be a positive integer, got ${JSON.stringify(r)}`);
  if (typeof alpha !== 'number' || !(alpha > 0)) throw new NormsError(`${cfgFile}: 'lora_alpha' must be a positive number, got ${JSON.stringify(alpha)}`);
  for (const k of ['rank_pattern', 'alpha_pattern'] as const) {
    const v = cfg[k];
    if (v && typeof v === 'object' && Object.keys(v).length > 0) throw new NormsError(`${cfgFile}: '${k}' (per-module ranks or alphas) is not supported; expected {}`);
  }
  if (cfg['modules_to_save']) throw new NormsError(`${cfgFile}: 'modules_to_save' (fully trained modules) is not supported; expected null`);
  const scale = cfg['use_rslora'] === true ? alpha / Math.sqrt(r as number) : alpha / (r as number);
  const file = join(dir, 'adapter_model.safetensors');
  const tensors = readSafetensors(file);
  const linears = new Set([...parts.tensors.values()].flat().filter((t) => t.layout !== null).map((t) => t.name.slice(0, -'.weight'.length)));
  const found = new Map<string, { a?: Float32Array; b?: Float32Array }>();
  for (const [key, data] of tensors) {
    const m = KEY.exec(key);
    if (!m) throw new NormsError(`${file}: tensor '${key}' is not a LoRA A or B weight (base_model.model.<module>.lora_A.weight)`);
    if (!linears.has(m[1])) throw new NormsError(`${file}: tensor '${key}' adapts '${m[1]}', which is not a linear layer of the base model`);
    const e = found.get(m[1]) ?? {};
    e[m[2] === 'A' ? 'a' : 'b'] = data;
    found.set(m[1], e);
  }
  const modules = new Map<string, { r: number; a: Float32Array; b: Float32Array }>();
  for (const [name, e] of found) {
    if (!e.a || !e.b) throw new NormsError(`${file}: module '${name}' has lora_${e.a ? 'A' : 'B'} but no lora_${e.a ? 'B' : 'A'}`);
    modules.set(name, { r: r as number, a: e.a, b: e.b });
  }
  return { file, scale, modules };
}
