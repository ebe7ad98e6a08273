// The end of a run: the method writes its result (an HF folder loadable by transformers, or for LoRA a PEFT
// adapter folder) and the run's tokenizer goes beside it (tokenizer.json + tokenizer_config.json, converted when
// the source was not a tokenizer.json).
import { exportTokenizer } from '../data/tokenizer-export.js';
import type { TrainConfig } from './config.js';
import type { RunParts } from './setup.js';

export function exportRun(cfg: TrainConfig, parts: RunParts): string {
  const dir = parts.method.exportResult(cfg.out, parts.modelDir);
  exportTokenizer(dir, tokenizerSource(cfg, parts), parts.tokenizer);
  return dir;
}

/** Where the run's tokenizer came from: model.tokenizer for a model from init, else the model folder. */
function tokenizerSource(cfg: TrainConfig, parts: RunParts): string | null {
  return typeof cfg.model === 'object' && 'init' in cfg.model ? (cfg.model.tokenizer ?? null) : parts.modelDir;
}
