// The Llama family (Llama-2/TinyLlama, Mistral, Qwen2, SmolLM): HF parameter names, RMSNorm, RoPE,
// grouped-query attention, SwiGLU MLP, optional q/k/v biases and tied embeddings.
import type { Tensor, Parameter } from '../tensor/tensor.js';
import * as F from '../ops/index.js';
import { computeDtype } from '../tensor/precision.js';
import { scope } from '../tensor/scope.js';
import { Module, ModuleList, type ParamFactory } from '../nn/module.js';
import { Embedding, Linear, RMSNorm } from '../nn/layers.js';
import { ArgumentError } from '../util/errors.js';
import type { LlamaConfig } from './config.js';
import { checkpointBlock, roleParameters, type CausalLM, type KVCache, type NonBlockParameter } from './causal-lm.js';

class LlamaAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly o_proj: Linear;
  constructor(f: ParamFactory, private readonly cfg: LlamaConfig) {
    super();
    const { hiddenSize: C, numHeads: nh, numKvHeads: nkv, headDim: hs } = cfg;
    this.q_proj = new Linear(f, C, nh * hs, { bias: cfg.qkvBias });
    this.k_proj = new Linear(f, C, nkv * hs, { bias: cfg.qkvBias });
    this.v_proj = new Linear(f, C, nkv * hs, { bias: cfg.qkvBias });
    this.o_proj = new Linear(f, nh * hs, C, { bias: cfg.oBias });
  }

  forward(x: Tensor, rope: { cos: Tensor; sin: Tensor }, layer: number, cache?: KVCache): Tensor {
    const [B, T] = x.shape;
    const { numHeads: nh, numKvHeads: nkv, headDim: hs, ropeLayout } = this.cfg;
    const heads = (t: Tensor, n: number) => F.permute(F.reshape(t, [B, T, n, hs]), [0, 2, 1, 3]); // (B, n, T, hs)
    const q = F.rope(heads(this.q_proj.forward(x), nh), rope.cos, rope.sin, ropeLayout); // (B, nh, T, hs)
    let k = F.rope(heads(this.k_proj.forward(x), nkv), rope.cos, rope.sin, ropeLayout); // (B, nkv, T, hs)
    let v = heads(this.v_proj.forward(x), nkv); // (B, nkv, T, hs)
    if (cache) [k, v] = cache.update(layer, k, v); // (B, nkv, Tpast + T, hs)
    const y = F.attention(q, k, v); // (B, nh, T, hs)
    return this.o_proj.forward(F.reshape(F.permute(y, [0, 2, 1, 3]), [B, T, nh * hs])); // (B, T, C)
  }
}

class LlamaMlp extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;
  constructor(f: ParamFactory, cfg: LlamaConfig) {
    super();
    const bias = cfg.mlpBias;
    this.gate_proj = new Linear(f, cfg.hiddenSize, cfg.intermediateSize, { bias });
    this.up_proj = new Linear(f, cfg.hiddenSize, cfg.intermediateSize, { bias });
    this.down_proj = new Linear(f, cfg.intermediateSize, cfg.hiddenSize, { bias });
  }
  forward(x: Tensor): Tensor {
    return this.down_proj.forward(F.mul(F.silu(this.gate_proj.forward(x)), this.up_proj.forward(x)));
  }
}

export class LlamaBlock extends Module {
  readonly input_layernorm: RMSNorm;
  readonly self_attn: LlamaAttention;
  readonly post_attention_layernorm: RMSNorm;
  readonly mlp: LlamaMlp;
  constructor(f: ParamFactory, cfg: LlamaConfig) {
    super();
    this.input_layernorm = new RMSNorm(f, cfg.hiddenSize, cfg.rmsNormEps);
    this.self_attn = new LlamaAttention(f, cfg);
    this.post_attention_layernorm = new RMSNorm(f, cfg.hiddenSize, cfg.rmsNormEps);
    this.mlp = new LlamaMlp(f, cfg);
  }
  forward(x: Tensor, rope: { cos: Tensor; sin: Tensor }, layer: number, cache?: KVCache): Tensor {
    // Each sub-layer runs in a scope: what its backward does not need is freed as soon as it returns.
    const h = F.add(x, scope(() => this.self_attn.forward(this.input_layernorm.forward(x), rope, layer, cache)));
    return F.add(h, scope(() => this.mlp.forward(this.post_attention_layernorm.forward(h))));
  }
}

class LlamaInner extends Module {
  readonly embed_tokens: Embedding;
  readonly layers: ModuleList<LlamaBlock>;
  readonly norm: RMSNorm;
  constructor(f: ParamFactory, cfg: LlamaConfig) {
    super();
    this.embed_tokens = new Embedding(f, cfg.vocabSize, cfg.hiddenSize);
    this.layers = new ModuleList(Array.from({ length: cfg.numLayers }, () => new LlamaBlock(f, cfg)));
    this.norm = new RMSNorm(f, cfg.hiddenSize, cfg.rmsNormEps);
  }
}

/** Inverse RoPE frequencies, with Llama-3's frequency-dependent scaling when configured. */
export function llamaInvFreq(cfg: LlamaConfig): Float64Array {
  const half = cfg.headDim / 2;
  const inv = Float64Array.from({ length: half }, (_, i) => Math.pow(cfg.ropeTheta, (-2 * i) / cfg.headDim));
  const s = cfg.ropeScaling;
  if (!s) return inv;
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

export class LlamaModel extends Module implements CausalLM {
  readonly model: LlamaInner;
  readonly lm_head: Linear | null;
  readonly blocks: readonly LlamaBlock[];
  private readonly invFreq: Float64Array;
  gradientCheckpointing = false;

  constructor(readonly config: LlamaConfig, f: ParamFactory = {}) {
    super();
    this.model = new LlamaInner(f, config);
    this.lm_head = config.tieWordEmbeddings ? null : new Linear(f, config.hiddenSize, config.vocabSize);
    this.blocks = this.model.layers.items;
    this.invFreq = llamaInvFreq(config);
    this.assignNames();
  }

  get maxPositions(): number { return this.config.maxPositions; }


  nonBlockParameters(): NonBlockParameter[] {
    return roleParameters([['embed', this.model.embed_tokens], ['finalNorm', this.model.norm], ['head', this.lm_head]]);
  }

  forward(ids: Int32Array, B: number, T: number, cache?: KVCache): Tensor {
    const x = this.hidden(ids, B, T, cache); // (B, T, C)
    return this.lm_head ? this.lm_head.forward(x) : F.linear(x, this.model.embed_tokens.weight); // (B, T, V)
  }

  plainHead(): { weight: Parameter; bias: Parameter | null } | null {
    if (this.lm_head?.getAdapter()) return null;
    return { weight: this.lm_head ? this.lm_head.weight : this.model.embed_tokens.weight, bias: this.lm_head?.bias ?? null };
  }

  hidden(ids: Int32Array, B: number, T: number, cache?: KVCache): Tensor {
    const start = cache?.length ?? 0;
    if (start + T > this.config.maxPositions) {
      throw new ArgumentError(`${this.config.modelType}: ${start + T} positions exceed max_position_embeddings=${this.config.maxPositions}`);
    }
    const emb = this.model.embed_tokens;
    const rope = F.ropeTables(T, this.config.headDim, this.config.ropeTheta, start,
      { backend: emb.weight.backend, dtype: computeDtype(emb.weight.dtype), invFreq: this.invFreq });
    let x = emb.forward(ids, [B, T]); // (B, T, C)
    this.blocks.forEach((block, i) => (x = scope(() => cache || !this.gradientCheckpointing ? block.forward(x, rope, i, cache)
      : checkpointBlock(block, x, (h) => block.forward(h, rope, i), [rope.cos, rope.sin]))));
    cache?.advance(T);
    return this.model.norm.forward(x); // (B, T, C)
  }
}
