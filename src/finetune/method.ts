// The interface the trainer uses for full fine-tuning, LoRA and LISA: which parameters train at step t.
import type { Parameter } from '../tensor/tensor.js';

export type MethodKind = 'full' | 'lora' | 'lisa';

export interface FineTuneMethod {
  readonly kind: MethodKind;
  /** Called once before the micro-batches of optimizer step `step` (0-based): sets requiresGrad. */
  beginStep(step: number): void;
  /** The parameters that currently train (requiresGrad). */
  trainableParameters(): Parameter[];
  /** Serializable method state for checkpoints (LISA's sampler); null when there is none. */
  saveState(): unknown;
  loadState(state: unknown): void;
}
