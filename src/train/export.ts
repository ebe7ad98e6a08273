// The end of a run: an HF folder (model, config, tokenizer files) loadable by transformers, or for LoRA a
// PEFT adapter folder.
import { join } from 'node:path';
import { copyTokenizerFiles, readGenerationConfig } from '../io/hf-folder.js';
import { saveModel } from '../models/load.js';
import { LoraFineTune } from '../finetune/lora.js';
import { saveLoraAdapter } from '../finetune/lora-io.js';
import type { TrainConfig } from './config.js';
import type { RunParts } from './setup.js';

export function exportRun(cfg: TrainConfig, parts: RunParts): string {
  if (parts.method instanceof LoraFineTune) {
    const dir = join(cfg.out, 'adapter');
    saveLoraAdapter(dir, parts.method, parts.modelDir ?? '');
    if (parts.modelDir) copyTokenizerFiles(parts.modelDir, dir);
    return dir;
  }
  const dir = join(cfg.out, 'final');
  saveModel(dir, parts.model, { generationConfig: parts.modelDir ? readGenerationConfig(parts.modelDir) : undefined });
  if (parts.modelDir) copyTokenizerFiles(parts.modelDir, dir);
  // An init model's tokenizer as loaded (tokenizer.json), whatever file it came from (.model, .bin, a folder).
  else if (parts.tokenizer) parts.tokenizer.save(dir);
  return dir;
}
