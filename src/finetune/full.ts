// Full fine-tuning: every parameter trains at every step.
import type { Parameter } from '../tensor/tensor.js';
import type { CausalLM } from '../models/causal-lm.js';
import type { FineTuneMethod, MethodStepMetrics } from './method.js';
import { syncMasters } from '../tensor/precision.js';
import { exportWholeModel } from './method-export.js';

export class FullFineTune implements FineTuneMethod {
  readonly kind = 'full' as const;
  constructor(private readonly model: CausalLM) {
    model.unfreeze();
    syncMasters(model.parameters()); // bf16 weights: every tensor trains an fp32 master
  }
  beginStep(): void {}
  trainableParameters(): Parameter[] {
    return this.model.parameters().filter((p) => p.requiresGrad);
  }
  checkpointParameters(): Parameter[] { return this.model.parameters(); }
  saveState(): null { return null; }
  loadState(): void {}
  rngStates(): Record<string, unknown> { return {}; }
  loadRngStates(): void {}
  stepMetrics(): MethodStepMetrics { return {}; }
  exportResult(out: string, baseModelDir: string | null): string { return exportWholeModel(this.model, out, baseModelDir); }
}
