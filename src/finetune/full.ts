// Full fine-tuning: every parameter trains at every step.
import type { Parameter } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { FineTuneMethod } from './method.js';
import { syncMasters } from '../tensor/precision.js';

export class FullFineTune implements FineTuneMethod {
  readonly kind = 'full' as const;
  constructor(private readonly model: Module) {
    model.unfreeze();
    syncMasters(model.parameters()); // bf16 weights: every tensor trains an fp32 master
  }
  beginStep(): void {}
  trainableParameters(): Parameter[] {
    return this.model.parameters().filter((p) => p.requiresGrad);
  }
  saveState(): null { return null; }
  loadState(): void {}
}
