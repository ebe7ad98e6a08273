// LoRA with PEFT semantics: y = base(x) + (alpha/r) * B(A(dropout(x))), A kaiming-uniform, B zero; targets by
// module name or 'all-linear'; merge/unmerge; base weights never train; adapters in PEFT's own file format.
import { join } from 'node:path';
import { Parameter, type Tensor } from '../tensor/tensor.js';
import * as F from '../ops/index.js';
import { computeDtype, syncMasters } from '../tensor/precision.js';
import { Module } from '../nn/module.js';
import { Linear, type LinearAdapter } from '../nn/layers.js';
import { noGrad } from '../autograd/tape.js';
import { scope } from '../tensor/scope.js';
import { Rng } from '../util/rng.js';
import { bf16BitsToF32, f32ToBf16Bits } from '../util/bf16.js';
import { ArgumentError } from '../util/errors.js';
import type { CausalLM } from '../models/causal-lm.js';
import type { FineTuneMethod, MethodStepMetrics } from './method.js';
import { writePeftAdapter } from './method-export.js';

export interface LoraOptions {
  rank: number;
  alpha: number;
  dropout?: number;
  /** Module-name patterns (a module matches when its dotted name equals a pattern or ends with '.pattern'),
   *  or 'all-linear' (every linear layer except the output head), as PEFT. */
  targets: string[] | 'all-linear';
  seed?: number;
}

/** The A and B matrices of one adapted layer (A: (r, in), B: (out, r)), as PEFT's lora_A/lora_B. */
export class LoraAdapter extends Module implements LinearAdapter {
  readonly lora_A: Linear;
  readonly lora_B: Linear;
  merged = false;
  /** The adapted layer: a reference, not ownership, so a # field the module walk never follows (the base mounts
   *  lora_A and lora_B as its own children instead). */
  readonly #base: Linear;
  constructor(base: Linear, readonly rank: number, readonly scale: number,
    private readonly dropout: number, private readonly rng: Rng) {
    super();
    this.#base = base;
    const f = { backend: base.weight.backend, dtype: computeDtype(base.weight.dtype) }; // fp32 over a bf16 base
    this.lora_A = new Linear(f, base.inFeatures, rank);
    this.lora_B = new Linear(f, rank, base.outFeatures);
    if (this.lora_A.weight.isShapeOnly) return; // meta: no values to draw
    // kaiming_uniform_(a=sqrt(5)) on (r, in): bound = 1/sqrt(in); B stays zero.
    const bound = 1 / Math.sqrt(base.inFeatures);
    const a = this.lora_A.weight.buf;
    for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * bound;
  }

  apply(x: Tensor, y: Tensor): Tensor {
    if (this.merged) return y;
    const xd = this.dropout > 0 ? F.dropout(x, this.dropout, this.rng) : x;
    const delta = this.lora_B.forward(this.lora_A.forward(xd)); // (..., out)
    return F.add(y, F.scale(delta, this.scale));
  }

  /** scale * B A in the base weight's layout: (out, in), or (in, out) for Conv1D. */
  private deltaWeight(): Tensor {
    const ba = F.matmul(this.lora_B.weight, this.lora_A.weight); // (out, in)
    return F.scale(this.#base.layout === 'out_in' ? ba : F.contiguous(F.transpose(ba, 0, 1)), this.scale);
  }

  /** Removes this adapter from its base layer. */
  detach(): void {
    this.#base.setAdapter(null);
  }

  merge(): void {
    if (this.merged) return;
    this.addToBase(1);
    this.merged = true;
  }

  unmerge(): void {
    if (!this.merged) return;
    this.addToBase(-1);
    this.merged = false;
  }

  /** W += sign * delta, in place; the scope frees every temporary of the delta. */
  private addToBase(sign: 1 | -1): void {
    scope(() => noGrad(() => {
      const d = F.scale(this.deltaWeight(), sign);
      const w = this.#base.weight;
      if (w.dtype === 'bfloat16') {
        // A bf16 base: w = RNE(w + delta) in float32 (so unmerge restores w only up to bf16 rounding).
        const delta = d.toTypedArray(); // row-major values of d
        const wb = w.bits;
        for (let i = 0; i < wb.length; i++) wb[i] = f32ToBf16Bits(bf16BitsToF32(wb[i]!) + delta[i]!);
      } else {
        w.backend.binary('add', w.buf, 0, w.strides, d.buf, d.offset, d.strides, w.buf, w.shape);
      }
    }));
  }
}

/** Names of the linear modules that match the targets (PEFT's suffix rule). */
export function matchLoraTargets(model: CausalLM, targets: string[] | 'all-linear'): [string, Linear][] {
  const linears = model.namedModules().filter((e): e is [string, Linear] => e[1] instanceof Linear && !/lora_[AB]$/.test(e[0]));
  if (targets === 'all-linear') return linears.filter(([n]) => n !== 'lm_head');
  if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => typeof t === 'string' && t.length > 0)) {
    throw new ArgumentError(`lora: targets must be 'all-linear' or a non-empty list of module names, got ${JSON.stringify(targets)}`);
  }
  const hit = (name: string, t: string) => name === t || name.endsWith(`.${t}`);
  for (const t of targets) {
    if (!linears.some(([n]) => hit(n, t))) {
      const known = [...new Set(linears.map(([n]) => n.split('.').pop()))].join(', ');
      throw new ArgumentError(`lora: target '${t}' matches no linear module of the model (linear modules: ${known})`);
    }
  }
  return linears.filter(([n]) => targets.some((t) => hit(n, t)));
}

export class LoraFineTune implements FineTuneMethod {
  readonly kind = 'lora' as const;
  readonly adapters: [string, LoraAdapter][];
  readonly scale: number;
  private readonly rng: Rng;

  constructor(private readonly model: CausalLM, readonly opts: LoraOptions) {
    if (!Number.isInteger(opts.rank) || opts.rank < 1) throw new ArgumentError(`lora: rank must be an integer >= 1, got ${opts.rank}`);
    if (typeof opts.alpha !== 'number' || !(opts.alpha > 0)) throw new ArgumentError(`lora: alpha must be a positive number, got ${opts.alpha}`);
    const dropout = opts.dropout ?? 0;
    if (!(dropout >= 0 && dropout < 1)) throw new ArgumentError(`lora: dropout must be in [0, 1), got ${dropout}`);
    const targets = matchLoraTargets(model, opts.targets);
    this.scale = opts.alpha / opts.rank;
    const rng = (this.rng = new Rng(opts.seed ?? 0));
    model.freeze();
    syncMasters(model.parameters()); // the frozen base stays (or goes back to) bf16 when stored so
    this.adapters = targets.map(([name, lin]) => {
      if (lin.getAdapter()) throw new ArgumentError(`lora: module '${name}' already has an adapter`);
      const a = new LoraAdapter(lin, opts.rank, this.scale, dropout, rng);
      lin.setAdapter(a);
      return [name, a];
    });
    model.assignNames();
  }

  beginStep(): void {}

  trainableParameters(): Parameter[] {
    return this.adapters.flatMap(([, a]) => a.parameters());
  }

  merge(): void { this.adapters.forEach(([, a]) => a.merge()); }
  unmerge(): void { this.adapters.forEach(([, a]) => a.unmerge()); }

  /** Merges every adapter into its base weight and removes the adapters (PEFT's merge_and_unload). */
  mergeAndUnload(): void {
    this.merge();
    for (const [, a] of this.adapters) {
      a.detach();
      a.dispose();
    }
    this.model.assignNames();
  }

  /** Adapter tensors with PEFT key names (base_model.model.<module>.lora_A.weight). */
  peftTensors(): { name: string; shape: number[]; data: Float32Array }[] {
    return this.adapters.flatMap(([name, a]) => (['lora_A', 'lora_B'] as const).map((k) => ({
      name: `base_model.model.${name}.${k}.weight`,
      shape: [...a[k].weight.shape],
      data: Float32Array.from(a[k].weight.buf),
    })));
  }

  /** Loads adapter weights from PEFT-named tensors. */
  loadPeftTensors(tensors: Map<string, Float32Array>): void {
    for (const [name, a] of this.adapters) {
      for (const k of ['lora_A', 'lora_B'] as const) {
        const key = `base_model.model.${name}.${k}.weight`;
        const data = tensors.get(key);
        const w: Parameter = a[k].weight;
        if (!data) throw new ArgumentError(`lora adapter: tensor '${key}' is missing`);
        if (data.length !== w.size) throw new ArgumentError(`lora adapter: tensor '${key}' has ${data.length} values, expected ${w.size}`);
        w.backend.write(w.buf, 0, data);
      }
    }
  }

  /** adapter_config.json as PEFT writes it. */
  peftConfig(baseModel = ''): Record<string, unknown> {
    const targets = this.opts.targets === 'all-linear'
      ? [...new Set(this.adapters.map(([n]) => n.split('.').pop() as string))].sort()
      : [...this.opts.targets];
    return {
      peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: baseModel, r: this.opts.rank,
      lora_alpha: this.opts.alpha, lora_dropout: this.opts.dropout ?? 0, target_modules: targets, bias: 'none',
      fan_in_fan_out: this.model.config.family === 'gpt2', inference_mode: true, init_lora_weights: true,
      modules_to_save: null, layers_to_transform: null, layers_pattern: null, rank_pattern: {}, alpha_pattern: {},
      use_rslora: false, use_dora: false, revision: null,
    };
  }

  checkpointParameters(): Parameter[] { return this.trainableParameters(); }
  saveState(): null { return null; }
  loadState(): void {}
  stepMetrics(): MethodStepMetrics { return {}; }

  /** The dropout RNG's state (checkpoints restore it so a resumed run draws the same masks). */
  rngStates(): Record<string, unknown> { return { dropout: this.rng.getState() }; }
  loadRngStates(states: Record<string, unknown>): void {
    const s = states['dropout'];
    if (s) this.rng.setState(s as ReturnType<Rng['getState']>);
  }

  /** out/adapter in PEFT's format (base_model_name_or_path: the base folder, when there is one). */
  exportResult(out: string, baseModelDir: string | null): string {
    const dir = join(out, 'adapter');
    writePeftAdapter(dir, this.peftTensors(), this.peftConfig(baseModelDir ?? ''));
    return dir;
  }
}
