// LoRA adapters on disk in PEFT's format: adapter_config.json and adapter_model.safetensors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../io/safetensors.js';
import { ArgumentError } from '../util/errors.js';
import type { CausalLM } from '../models/causal-lm.js';
import { LoraFineTune } from './lora.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, writePeftAdapter } from './method-export.js';

/** Writes lora's adapter to dir in PEFT's format; baseModel goes to base_model_name_or_path. */
export function saveLoraAdapter(dir: string, lora: LoraFineTune, baseModel = ''): void {
  writePeftAdapter(dir, lora.peftTensors(), lora.peftConfig(baseModel));
}

/** Attaches the adapter in dir to model (which must be the base it was trained on) and returns it. */
export function loadLoraAdapter(dir: string, model: CausalLM): LoraFineTune {
  const file = join(dir, ADAPTER_CONFIG);
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ArgumentError(`${file}: cannot read the adapter config: ${(e as Error).message}`);
  }
  if (cfg.peft_type !== 'LORA') throw new ArgumentError(`${file}: peft_type is '${String(cfg.peft_type)}', expected 'LORA'`);
  const targets = cfg.target_modules;
  if (!(targets === 'all-linear' || (Array.isArray(targets) && targets.every((t) => typeof t === 'string')))) {
    throw new ArgumentError(`${file}: target_modules must be a list of module names or 'all-linear'`);
  }
  const lora = new LoraFineTune(model, {
    rank: cfg.r as number, alpha: cfg.lora_alpha as number, dropout: (cfg.lora_dropout as number) ?? 0,
    targets: targets as string[] | 'all-linear',
  });
  lora.loadPeftTensors(readSafetensors(join(dir, ADAPTER_WEIGHTS)));
  return lora;
}
