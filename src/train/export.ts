// The end of a run: the method writes its result (an HF folder loadable by transformers, or for LoRA a PEFT
// adapter folder) and the tokenizer files go beside it.
import { copyTokenizerFiles } from '../io/hf-folder.js';
import type { TrainConfig } from './config.js';
import type { RunParts } from './setup.js';

export function exportRun(cfg: TrainConfig, parts: RunParts): string {
  const dir = parts.method.exportResult(cfg.out, parts.modelDir);
  // A model built from model.init takes the tokenizer named there (a whole model folder only, as before).
  const initTokenizer = typeof cfg.model === 'object' && 'init' in cfg.model && parts.method.kind !== 'lora' ? cfg.model.tokenizer : undefined;
  const tokDir = parts.modelDir ?? initTokenizer;
  if (tokDir) copyTokenizerFiles(tokDir, dir);
  return dir;
}
