// Basic layers over the ops, with HF parameter names: Linear (nn.Linear or Conv1D layout), Embedding, LayerNorm, RMSNorm.
import type { Parameter, Tensor } from '../tensor/tensor.js';
import { linear, embedding, layerNorm, rmsNorm } from '../ops/index.js';
import { Module, type ParamFactory } from './module.js';

/** Something added to a Linear's output, given its input: y' = apply(x, y). */
export interface LinearAdapter extends Module {
  apply(x: Tensor, y: Tensor): Tensor;
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  /** 'out_in' as nn.Linear (weight (out, in)); 'in_out' as GPT-2's Conv1D (weight (in, out)). */
  readonly layout: 'out_in' | 'in_out';
  /** The attached adapter (LoRA): a # field, so it is not walked as a child named 'adapter'; namedChildren mounts
   *  its submodules instead. */
  #adapter: LinearAdapter | null = null;

  constructor(f: ParamFactory, readonly inFeatures: number, readonly outFeatures: number,
    opts: { bias?: boolean; layout?: 'out_in' | 'in_out' } = {}) {
    super();
    this.layout = opts.layout ?? 'out_in';
    this.weight = this.param(f, this.layout === 'out_in' ? [outFeatures, inFeatures] : [inFeatures, outFeatures]);
    this.bias = opts.bias ? this.param(f, [outFeatures], 'zeros') : null;
  }

  /** Children: the adapter's submodules, mounted as this layer's own (q_proj.lora_A, q_proj.lora_B). */
  override namedChildren(): [string, Module][] {
    return [...super.namedChildren(), ...(this.#adapter?.namedChildren() ?? [])];
  }

  /** Attaches (or, with null, removes) an adapter; call assignNames() on the model afterwards. */
  setAdapter(adapter: LinearAdapter | null): void {
    this.#adapter = adapter;
  }

  getAdapter(): LinearAdapter | null {
    return this.#adapter;
  }

  forward(x: Tensor): Tensor {
    const y = linear(x, this.weight, this.bias, { layout: this.layout });
    return this.#adapter ? this.#adapter.apply(x, y) : y;
  }
}

export class Embedding extends Module {
  readonly weight: Parameter;
  constructor(f: ParamFactory, readonly num: number, readonly dim: number) {
    super();
    this.weight = this.param(f, [num, dim]);
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
    this.weight = this.param(f, [dim], 'ones');
    this.bias = this.param(f, [dim], 'zeros');
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class RMSNorm extends Module {
  readonly weight: Parameter;
  constructor(f: ParamFactory, dim: number, readonly eps = 1e-6) {
    super();
    this.weight = this.param(f, [dim], 'ones');
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}
