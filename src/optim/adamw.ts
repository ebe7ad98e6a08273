// torch-compatible AdamW: decoupled weight decay, per-parameter step counts, bias correction with eps added
// after sqrt(v̂). State is created lazily for parameters that get a gradient, can be freed per parameter, and
// saves/loads exactly. State is fp32 for a bf16-stored weight (it trains through an fp32 master).
import { ADAMW_DEFAULTS } from './defaults.js';
import { Tensor, type Parameter } from '../tensor/tensor.js';
import { ArgumentError } from '../util/errors.js';
import { computeDtype } from '../tensor/precision.js';
import type { AdamWTensor, Backend } from '../backends/backend.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (default 0, src/optim/defaults.ts). */
  weightDecay?: number;
  /** Which parameters decay; default: tensors with 2 or more dims (not biases or norm weights). */
  decay?: (name: string, p: Parameter) => boolean;
}

export interface AdamWParamState { m: Tensor; v: Tensor; step: number }

/** Serializable state: hyperparameters, and per parameter name its step and m, v values. */
export interface AdamWStateDict {
  entries: { name: string; step: number; m: Float32Array; v: Float32Array }[];
}

export const decayMatrices = (_name: string, p: Parameter): boolean => p.rank >= 2;

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  lr: number;
  private readonly decay: (name: string, p: Parameter) => boolean;
  private readonly state = new Map<Parameter, AdamWParamState>();

  constructor(opts: AdamWOptions) {
    this.lr = nonNegative('lr', opts.lr);
    this.beta1 = unit('beta1', opts.beta1 ?? ADAMW_DEFAULTS.beta1);
    this.beta2 = unit('beta2', opts.beta2 ?? ADAMW_DEFAULTS.beta2);
    this.eps = nonNegative('eps', opts.eps ?? ADAMW_DEFAULTS.eps);
    this.weightDecay = nonNegative('weightDecay', opts.weightDecay ?? ADAMW_DEFAULTS.weightDecay);
    this.decay = opts.decay ?? decayMatrices;
  }

  /** One update of every parameter that requires grad and has one, at learning rate lr (default this.lr), in one
   *  fused backend call per backend. gradScale multiplies every gradient as it is read (a clip coefficient from
   *  clipCoefficient(), so the clip costs no pass of its own); the .grad buffers are left unscaled. */
  step(params: readonly Parameter[], lr = this.lr, gradScale = 1): void {
    const batches = new Map<Backend, AdamWTensor[]>();
    const seen = new Set<Parameter>(); // a tensor listed twice steps once (the fused call runs tensors in parallel)
    for (const p of params) {
      if (!p.requiresGrad || !p.grad || seen.has(p)) continue;
      seen.add(p);
      let s = this.state.get(p);
      if (!s) {
        s = {
          m: Tensor.empty(p.shape, { backend: p.backend, dtype: computeDtype(p.dtype), category: 'optimizer' }).keep(),
          v: Tensor.empty(p.shape, { backend: p.backend, dtype: computeDtype(p.dtype), category: 'optimizer' }).keep(),
          step: 0,
        };
        this.state.set(p, s);
      }
      s.step++;
      const wd = this.decay(p.name, p) ? this.weightDecay : 0;
      const g = p.grad;
      if (!g.isDense()) throw new ArgumentError(`AdamW: gradient of '${p.name}' is not dense`);
      let batch = batches.get(p.backend);
      if (!batch) batches.set(p.backend, (batch = []));
      batch.push({ p: p.buf, g: g.buf, m: s.m.buf, v: s.v.buf, n: p.size, weightDecay: wd, step: s.step });
    }
    for (const [backend, ts] of batches) backend.adamwMany(ts, lr, this.beta1, this.beta2, this.eps, gradScale);
  }

  stateOf(p: Parameter): AdamWParamState | undefined {
    return this.state.get(p);
  }

  hasState(p: Parameter): boolean {
    return this.state.has(p);
  }

  /** Frees a parameter's m, v and step (LISA's reset on a switch). */
  freeState(p: Parameter): void {
    const s = this.state.get(p);
    if (!s) return;
    s.m.dispose();
    s.v.dispose();
    this.state.delete(p);
  }

  /** Bytes of live optimizer state. */
  stateBytes(): number {
    let n = 0;
    for (const s of this.state.values()) n += s.m.bytes + s.v.bytes;
    return n;
  }

  stateDict(): AdamWStateDict {
    return {
      entries: [...this.state].map(([p, s]) => ({
        name: requireName(p), step: s.step, m: Float32Array.from(s.m.buf), v: Float32Array.from(s.v.buf),
      })),
    };
  }

  /** Replaces all state with the dict's, matching parameters by name. */
  loadStateDict(dict: AdamWStateDict, params: readonly Parameter[]): void {
    const byName = new Map(params.map((p) => [requireName(p), p]));
    for (const p of [...this.state.keys()]) this.freeState(p);
    for (const e of dict.entries) {
      const p = byName.get(e.name);
      if (!p) throw new ArgumentError(`AdamW state: no parameter named '${e.name}'`);
      if (e.m.length !== p.size || e.v.length !== p.size) {
        throw new ArgumentError(`AdamW state for '${e.name}': ${e.m.length} values, parameter has ${p.size}`);
      }
      const m = Tensor.empty(p.shape, { backend: p.backend, dtype: computeDtype(p.dtype), category: 'optimizer' }).keep();
      const v = Tensor.empty(p.shape, { backend: p.backend, dtype: computeDtype(p.dtype), category: 'optimizer' }).keep();
      m.backend.write(m.buf, 0, e.m);
      v.backend.write(v.buf, 0, e.v);
      this.state.set(p, { m, v, step: e.step });
    }
  }

  dispose(): void {
    for (const p of [...this.state.keys()]) this.freeState(p);
  }
}

function requireName(p: Parameter): string {
  if (!p.name) throw new ArgumentError('AdamW state: every parameter needs a name');
  return p.name;
}

function nonNegative(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new ArgumentError(`AdamW: ${name} must be a non-negative number, got ${String(v)}`);
  }
  return v;
}

function unit(name: string, v: number): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new ArgumentError(`AdamW: ${name} must be in [0, 1), got ${String(v)}`);
  return v;
}
