// The end of a run: the method writes its result (an HF folder loadable by transformers, or for LoRA a PEFT
// adapter folder) and the tokenizer goes beside it.
import { copyTokenizerFiles } from '../io/hf-folder.js';
import type { TrainConfig } from './config.js';
import type { RunParts } from './setup.js';

export function exportRun(cfg: TrainConfig, parts: RunParts): string {
  const dir = parts.method.exportResult(cfg.out, parts.modelDir);
  if (parts.modelDir) copyTokenizerFiles(parts.modelDir, dir);
  // An init model's tokenizer as loaded (tokenizer.json), whatever file it came from (.model, .bin, a folder);
  // a whole model folder only.
  else if (parts.tokenizer && parts.method.kind !== 'lora') parts.tokenizer.save(dir);
  return dir;
}
