// The interface every model family implements for the fine-tuning methods, trainer and generation, plus
// the KV cache and the default weight initialisation.
import { f32ToBf16Bits } from '../util/bf16.js';
import type { Parameter, Tensor } from '../tensor/tensor.js';
import { concat } from '../ops/index.js';
import { checkpoint } from '../autograd/checkpoint.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { Rng } from '../util/rng.js';
import type { ModelConfig } from './config.js';

/** What a parameter outside the blocks is for (LISA's alwaysTrain names these). */
export const NON_BLOCK_ROLES = ['embed', 'posEmbed', 'finalNorm', 'head'] as const;
export type NonBlockRole = (typeof NON_BLOCK_ROLES)[number];

/** A parameter outside model.blocks with its role; name is the parameter's own dotted name. */
export interface NonBlockParameter {
  role: NonBlockRole;
  name: string;
  param: Parameter;
}

/** The parameters of the modules a model gives a role, each module's own (not an adapter's on it), named as
 *  assignNames() named them; a null module (a tied head) has none. */
export function roleParameters(roles: [NonBlockRole, Module | null][]): NonBlockParameter[] {
  return roles.flatMap(([role, m]) => (m ? m.namedOwnParameters().map(([, param]) => ({ role, name: param.name, param })) : []));
}

export interface CausalLM extends Module {
  readonly config: ModelConfig;
  /** The transformer blocks, in order. */
  readonly blocks: readonly Module[];
  /** Parameters outside the blocks with their roles. A tied head appears once, as 'embed'. */
  nonBlockParameters(): NonBlockParameter[];
  /** Logits (B, T, V) for ids (B*T, row-major). With a cache, positions continue from cache.length. */
  forward(ids: Int32Array, B: number, T: number, cache?: KVCache): Tensor;
  /** The final-normed hidden states (B, T, C) that the LM head maps to logits (forward without the head). */
  hidden(ids: Int32Array, B: number, T: number, cache?: KVCache): Tensor;
  /** The LM head as a plain linear map: weight (V, C) (the embedding when tied) and bias; null when an adapter
   *  (LoRA) wraps the head, so logits only come from forward. */
  plainHead(): { weight: Parameter; bias: Parameter | null } | null;
  /** Recompute each block in backward instead of keeping its activations (never with a KV cache). */
  gradientCheckpointing: boolean;
  /** Context length the model supports. */
  readonly maxPositions: number;
}

/** Keys and values of past positions per layer, each (B, nkv, Tpast, hs); kept outside scopes. */
export class KVCache {
  private keys: (Tensor | null)[];
  private values: (Tensor | null)[];
  length = 0;
  constructor(numLayers: number) {
    this.keys = new Array(numLayers).fill(null);
    this.values = new Array(numLayers).fill(null);
  }

  /** Appends this step's k, v (B, nkv, T, hs) for a layer and returns the full keys and values. */
  update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const pk = this.keys[layer];
    const pv = this.values[layer];
    const fk = (pk ? concat([pk, k], 2) : concat([k], 2)).keep(); // (B, nkv, Tpast + T, hs)
    const fv = (pv ? concat([pv, v], 2) : concat([v], 2)).keep();
    pk?.dispose();
    pv?.dispose();
    this.keys[layer] = fk;
    this.values[layer] = fv;
    return [fk, fv];
  }

  /** Called by the model after all layers ran on T new positions. */
  advance(T: number): void {
    this.length += T;
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
    this.length = 0;
  }
}

/** Random generators held by a module, its submodules or objects attached to them (a Linear's LoRA adapter
 *  with its dropout Rng), whose draws a recompute must replay. */
function moduleRngs(m: Module): Rng[] {
  const found = new Set<Rng>();
  const seen = new Set<object>();
  const walk = (o: object) => {
    if (seen.has(o)) return;
    seen.add(o);
    for (const v of Object.values(o)) {
      if (v instanceof Rng) found.add(v);
      else if (v instanceof Module) walk(v);
    }
  };
  for (const [, sub] of m.namedModules()) {
    walk(sub);
    const adapter = sub instanceof Linear ? sub.getAdapter() : null; // held privately, so not among the values
    if (adapter) walk(adapter);
  }
  return [...found];
}

/** block(x) checkpointed: only x (and `saved`, tensors run reads besides x) are kept for its backward. */
export function checkpointBlock(block: Module, x: Tensor, run: (x: Tensor) => Tensor, saved: Tensor[] = []): Tensor {
  return checkpoint(run, x, block.parameters(), { rngs: moduleRngs(block), saved });
}

/** GPT-2/Llama initialisation, as each layer declares it: weights normal(0, std), biases 0, norm weights 1. */
export function initWeights(model: Module, rng: Rng, std = 0.02): void {
  const inits = model.parameterInits();
  for (const p of model.parameters()) {
    if (p.isShapeOnly) continue; // meta: no values to draw
    const init = inits.get(p) ?? 'normal';
    const value = init === 'ones' ? () => 1 : init === 'zeros' ? () => 0 : () => std * rng.normal();
    if (p.dtype === 'bfloat16') {
      // The same draws as a float32 weight, rounded (RNE): equal to initialising in float32 and casting.
      const bits = p.bits;
      for (let i = 0; i < bits.length; i++) bits[i] = f32ToBf16Bits(value());
      continue;
    }
    const b = p.buf;
    for (let i = 0; i < b.length; i++) b[i] = value();
  }
}
