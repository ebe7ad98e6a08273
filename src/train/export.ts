// The end of a run: an HF folder (model, config, tokenizer files) loadable by transformers, or for LoRA a
// PEFT adapter folder.
import { join } from 'node:path';
import { readGenerationConfig } from '../io/hf-folder.js';
import { exportTokenizer } from '../data/tokenizer-export.js';
import { saveModel } from '../models/load.js';
import { LoraFineTune } from '../finetune/lora.js';
import { saveLoraAdapter } from '../finetune/lora-io.js';
import type { TrainConfig } from './config.js';
import type { RunParts } from './setup.js';

export function exportRun(cfg: TrainConfig, parts: RunParts): string {
  if (parts.method instanceof LoraFineTune) {
    const dir = join(cfg.out, 'adapter');
    saveLoraAdapter(dir, parts.method, parts.modelDir ?? '');
    exportTokenizer(dir, tokenizerSource(cfg, parts), parts.tokenizer);
    return dir;
  }
  const dir = join(cfg.out, 'final');
  saveModel(dir, parts.model, { generationConfig: parts.modelDir ? readGenerationConfig(parts.modelDir) : undefined });
  exportTokenizer(dir, tokenizerSource(cfg, parts), parts.tokenizer);
  return dir;
}

/** Where the run's tokenizer came from: model.tokenizer for a model from init, else the model folder. */
function tokenizerSource(cfg: TrainConfig, parts: RunParts): string | null {
  return typeof cfg.model === 'object' && 'init' in cfg.model ? (cfg.model.tokenizer ?? null) : parts.modelDir;
}
