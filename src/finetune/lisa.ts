// LISA (arXiv 2403.17919): the always-trainable set (embeddings, final norm, head) trains at every step;
// every `period` optimizer steps, gamma blocks are sampled and unfrozen and the rest are frozen. With
// stateOnSwitch 'reset', the AdamW state of blocks leaving the active set is freed. With bf16 weights, a block
// entering the active set gets fp32 masters made from its bf16 values; one leaving has them rounded back to
// bf16 (RNE) and freed.
import type { Parameter } from '../tensor/tensor.js';
import { NON_BLOCK_ROLES, type CausalLM, type NonBlockRole } from '../models/causal-lm.js';
import type { AdamW } from '../optim/adamw.js';
import { ArgumentError } from '../util/errors.js';
import { LisaSampler, type SamplerOptions, type SamplerState } from './lisa-sampler.js';
import type { FineTuneMethod, MethodStepMetrics } from './method.js';
import { exportWholeModel } from './method-export.js';
import { dropMaster, makeMaster, syncMasters } from '../tensor/precision.js';

/** What LISA does with a block's AdamW state when it leaves the active set: free it, or keep it for its return. */
export const STATE_ON_SWITCH = ['reset', 'keep'] as const;
export type StateOnSwitch = (typeof STATE_ON_SWITCH)[number];

export interface LisaOptions extends Omit<SamplerOptions, 'numBlocks'> {
  /** K: optimizer steps between samplings (>= 1). */
  period: number;
  /** Non-block parameters that always train; default all of them (the paper and LMFlow). May be empty. */
  alwaysTrain?: NonBlockRole[];
  stateOnSwitch?: StateOnSwitch;
}

export interface LisaState { sampler: SamplerState; active: number[]; lastSampledStep: number }

export class Lisa implements FineTuneMethod {
  readonly kind = 'lisa' as const;
  private readonly sampler: LisaSampler;
  private readonly alwaysTrain: Set<NonBlockRole>;
  private readonly stateOnSwitch: StateOnSwitch;
  private active: number[] = [];
  private lastSampledStep = -1;
  /** The active set of each sampling, for logs. */
  readonly history: { step: number; active: number[] }[] = [];

  constructor(private readonly model: CausalLM, private readonly optimizer: AdamW, private readonly opts: LisaOptions) {
    if (!Number.isInteger(opts.period) || opts.period < 1) throw new ArgumentError(`lisa: period must be an integer >= 1, got ${opts.period}`);
    this.stateOnSwitch = opts.stateOnSwitch ?? 'reset';
    if (!STATE_ON_SWITCH.includes(this.stateOnSwitch)) {
      throw new ArgumentError(`lisa: stateOnSwitch must be ${STATE_ON_SWITCH.map((s) => `'${s}'`).join(' or ')}, got '${String(opts.stateOnSwitch)}'`);
    }
    const roles = opts.alwaysTrain ?? [...NON_BLOCK_ROLES];
    for (const r of roles) if (!NON_BLOCK_ROLES.includes(r)) throw new ArgumentError(`lisa: unknown alwaysTrain entry '${r}' (${NON_BLOCK_ROLES.join(', ')})`);
    this.alwaysTrain = new Set(roles);
    this.sampler = new LisaSampler({ ...opts, numBlocks: model.blocks.length });
    model.freeze();
    this.applyNonBlock();
    syncMasters(model.parameters());
  }

  /** Block indices that train in the current interval. */
  activeBlocks(): number[] {
    return [...this.active];
  }

  beginStep(step: number): void {
    if (step % this.opts.period !== 0 || step === this.lastSampledStep) return;
    this.switchTo(this.sampler.next());
    this.lastSampledStep = step;
    this.history.push({ step, active: [...this.active] });
  }

  private switchTo(next: number[]): void {
    const leaving = this.active.filter((b) => !next.includes(b));
    for (const b of leaving) {
      for (const p of this.model.blocks[b].parameters()) {
        p.requiresGrad = false;
        p.zeroGrad();
        dropMaster(p);
        if (this.stateOnSwitch === 'reset') this.optimizer.freeState(p);
      }
    }
    for (const b of next) {
      this.model.blocks[b].unfreeze();
      for (const p of this.model.blocks[b].parameters()) makeMaster(p);
    }
    this.active = next;
  }

  private applyNonBlock(): void {
    for (const { role, param } of this.model.nonBlockParameters()) {
      // A tied head is the embedding: it trains when either role is in the set.
      const tiedHead = role === 'embed' && !this.model.nonBlockParameters().some((e) => e.role === 'head');
      param.requiresGrad = this.alwaysTrain.has(role) || (tiedHead && this.alwaysTrain.has('head'));
    }
  }

  trainableParameters(): Parameter[] {
    return this.model.parameters().filter((p) => p.requiresGrad);
  }

  checkpointParameters(): Parameter[] { return this.model.parameters(); }
  rngStates(): Record<string, unknown> { return {}; }
  loadRngStates(): void {}
  stepMetrics(): MethodStepMetrics { return { activeLayers: this.activeBlocks() }; }
  exportResult(out: string, baseModelDir: string | null): string { return exportWholeModel(this.model, out, baseModelDir); }

  saveState(): LisaState {
    return { sampler: this.sampler.getState(), active: [...this.active], lastSampledStep: this.lastSampledStep };
  }

  loadState(state: unknown): void {
    const s = state as LisaState;
    const n = this.model.blocks.length;
    const isBlock = (b: unknown) => Number.isInteger(b) && (b as number) >= 0 && (b as number) < n;
    if (!s || typeof s !== 'object' || !Array.isArray(s.active) || !s.active.every(isBlock) || new Set(s.active).size !== s.active.length ||
      !Number.isSafeInteger(s.lastSampledStep) || s.lastSampledStep < -1 || !s.sampler) {
      throw new ArgumentError(`lisa: checkpoint state is malformed; expected 'methodState' = {sampler, active: distinct block indices in [0, ${n}), lastSampledStep: an integer >= -1}`);
    }
    this.sampler.setState(s.sampler);
    this.model.freeze();
    this.applyNonBlock();
    for (const b of s.active) this.model.blocks[b].unfreeze();
    syncMasters(this.model.parameters());
    this.active = [...s.active];
    this.lastSampledStep = s.lastSampledStep;
  }
}
