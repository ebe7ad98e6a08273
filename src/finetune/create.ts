// The one factory of fine-tuning methods: full, LoRA or LISA from a spec, applied to a model in place.
import type { CausalLM } from '../models/causal-lm.js';
import type { AdamW } from '../optim/adamw.js';
import { ArgumentError } from '../util/errors.js';
import { FullFineTune } from './full.js';
import { LoraFineTune, type LoraOptions } from './lora.js';
import { Lisa, type LisaOptions } from './lisa.js';
import type { FineTuneMethod } from './method.js';

/** What createMethod builds: the method's kind and its options. */
export type MethodSpec =
  | { kind: 'full' }
  | ({ kind: 'lora' } & LoraOptions)
  | ({ kind: 'lisa' } & LisaOptions);

/**
 * Applies a fine-tuning method to `model` (it freezes, unfreezes or adds adapters in place) and returns it.
 * LISA frees the AdamW state of blocks that leave the active set, so it needs the optimizer that will train.
 */
export function createMethod(model: CausalLM, spec: MethodSpec, optimizer: AdamW): FineTuneMethod {
  switch (spec.kind) {
    case 'full': return new FullFineTune(model);
    case 'lora': return new LoraFineTune(model, spec);
    case 'lisa': return new Lisa(model, optimizer, spec);
    default:
      spec satisfies never;
      throw new ArgumentError(`method: unknown kind '${String((spec as { kind: unknown }).kind)}' (expected full, lora or lisa)`);
  }
}
