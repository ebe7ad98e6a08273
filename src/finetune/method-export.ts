// Writing a run's result: a whole model as an HF folder (full fine-tuning, LISA) or a PEFT adapter folder (LoRA).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readGenerationConfig } from '../io/hf-folder.js';
import { writeSafetensors } from '../io/safetensors.js';
import { writeTextAtomicSync } from '../io/atomic.js';
import { saveModel } from '../models/load.js';
import type { CausalLM } from '../models/causal-lm.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/** Saves model as out/final (with the base folder's generation config, when there is one); returns the folder. */
export function exportWholeModel(model: CausalLM, out: string, baseModelDir: string | null): string {
  const dir = join(out, 'final');
  saveModel(dir, model, { generationConfig: baseModelDir ? readGenerationConfig(baseModelDir) : undefined });
  return dir;
}

/** Writes a PEFT adapter folder: adapter_model.safetensors and adapter_config.json. */
export function writePeftAdapter(dir: string, tensors: { name: string; shape: number[]; data: Float32Array }[], config: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors);
  writeTextAtomicSync(join(dir, ADAPTER_CONFIG), `${JSON.stringify(config, null, 2)}\n`);
}
