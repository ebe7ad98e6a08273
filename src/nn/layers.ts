// Basic layers over the ops, with HF parameter names: Linear (nn.Linear or Conv1D layout), Embedding,
// LayerNorm and RMSNorm.
import { Parameter, type Tensor } from '../tensor/tensor.js';
import { linear, embedding, layerNorm, rmsNorm } from '../ops/index.js';
import { Module, type ParamFactory } from './module.js';

/** Creates a parameter: zero-filled storage, or shape-only when the factory says so. */
export function makeParam(f: ParamFactory, name: string, shape: number[]): Parameter {
  return f.shapeOnly
    ? Parameter.shapeOnly(name, shape, { dtype: f.dtype })
    : Parameter.zeros(name, shape, { backend: f.backend, dtype: f.dtype });
}

/** Something added to a Linear's output, given its input: y' = apply(x, y). */
export interface LinearAdapter extends Module {
  apply(x: Tensor, y: Tensor): Tensor;
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  /** 'out_in' as nn.Linear (weight (out, in)); 'in_out' as GPT-2's Conv1D (weight (in, out)). */
  constructor(f: ParamFactory, readonly inFeatures: number, readonly outFeatures: number,
    opts: { bias?: boolean; layout?: 'out_in' | 'in_out' } = {}) {
    super();
    this.layout = opts.layout ?? 'out_in';
    const shape = this.layout === 'out_in' ? [outFeatures, inFeatures] : [inFeatures, outFeatures];
    this.weight = this.param('weight', makeParam(f, 'weight', shape));
    this.bias = opts.bias ? this.param('bias', makeParam(f, 'bias', [outFeatures]), 'zeros') : null;
  }
  readonly layout: 'out_in' | 'in_out';
  private adapter: LinearAdapter | null = null;

  /** Attaches an adapter (LoRA) whose submodules become children of this layer (q_proj.lora_A, ...). */
  setAdapter(adapter: LinearAdapter | null): void {
    if (this.adapter) for (const [n] of this.adapter.namedChildren()) this.removeModule(n);
    this.adapter = adapter;
    if (adapter) for (const [n, m] of adapter.namedChildren()) this.module(n, m);
  }

  getAdapter(): LinearAdapter | null {
    return this.adapter;
  }

  forward(x: Tensor): Tensor {
    const y = linear(x, this.weight, this.bias, { layout: this.layout });
    return this.adapter ? this.adapter.apply(x, y) : y;
  }
}

export class Embedding extends Module {
  readonly weight: Parameter;
  constructor(f: ParamFactory, readonly num: number, readonly dim: number) {
    super();
    this.weight = this.param('weight', makeParam(f, 'weight', [num, dim]));
  }
  /** ids of the given shape -> (...shape, dim). */
  forward(ids: Int32Array, shape: readonly number[]): Tensor {
    return embedding(this.weight, ids, shape);
  }
}

export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  constructor(f: ParamFactory, dim: number, readonly eps = 1e-5) {
    super();
    this.weight = this.param('weight', makeParam(f, 'weight', [dim]), 'ones');
    this.bias = this.param('bias', makeParam(f, 'bias', [dim]), 'zeros');
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class RMSNorm extends Module {
  readonly weight: Parameter;
  constructor(f: ParamFactory, dim: number, readonly eps = 1e-6) {
    super();
    this.weight = this.param('weight', makeParam(f, 'weight', [dim]), 'ones');
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}
