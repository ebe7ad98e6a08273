// The interface the trainer uses for full fine-tuning, LoRA and LISA: which parameters train at step t.
import type { Parameter } from '../tensor/tensor.js';

export const METHOD_KINDS = ['full', 'lora', 'lisa'] as const;
export type MethodKind = (typeof METHOD_KINDS)[number];

/** What a method adds to each step's metrics (LISA: the active blocks). */
export interface MethodStepMetrics { activeLayers?: number[] }

export interface FineTuneMethod {
  readonly kind: MethodKind;
  /** Called once before the micro-batches of optimizer step `step` (0-based): sets requiresGrad. */
  beginStep(step: number): void;
  /** The parameters that currently train (requiresGrad). */
  trainableParameters(): Parameter[];
  /** The parameters a checkpoint saves and restores: the adapters for LoRA, every parameter otherwise (LISA
   *  changes any block over a run). */
  checkpointParameters(): Parameter[];
  /** Serializable method state for checkpoints (LISA's sampler); null when there is none. */
  saveState(): unknown;
  loadState(state: unknown): void;
  /** Seeded RNG states besides saveState's, by name (LoRA's dropout), so a resumed run draws the same. */
  rngStates(): Record<string, unknown>;
  loadRngStates(states: Record<string, unknown>): void;
  /** Added to the metrics of the step that just ran. */
  stepMetrics(): MethodStepMetrics;
  /** Writes the run's result under `out` and returns its folder: out/final (an HF model folder) or out/adapter (a
   *  PEFT adapter). baseModelDir is where the base model was read from, when it was. */
  exportResult(out: string, baseModelDir: string | null): string;
}
