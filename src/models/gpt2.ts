// GPT-2, read top to bottom like nanoGPT: HF parameter names, Conv1D weights stored (in, out), learned
// positions, LayerNorm, gelu_new, head tied to wte.
import type { Tensor, Parameter } from '../tensor/tensor.js';
import * as F from '../ops/index.js';
import { scope } from '../tensor/scope.js';
import { Module, ModuleList, type ParamFactory } from '../nn/module.js';
import { Embedding, LayerNorm, Linear } from '../nn/layers.js';
import { ArgumentError } from '../util/errors.js';
import type { Gpt2Config } from './config.js';
import { checkpointBlock, roleParameters, type CausalLM, type KVCache, type NonBlockParameter } from './causal-lm.js';

class Gpt2Attention extends Module {
  readonly c_attn: Linear;
  readonly c_proj: Linear;
  constructor(f: ParamFactory, private readonly cfg: Gpt2Config) {
    super();
    const C = cfg.nEmbd;
    this.c_attn = new Linear(f, C, 3 * C, { bias: true, layout: 'in_out' });
    this.c_proj = new Linear(f, C, C, { bias: true, layout: 'in_out' });
  }

  forward(x: Tensor, layer: number, cache?: KVCache): Tensor {
    const [B, T, C] = x.shape;
    const nh = this.cfg.nHead;
    const hs = C / nh;
    if (!cache) return this.c_proj.forward(F.qkvAttention(this.c_attn.forward(x), nh)); // (B, T, 3C) -> (B, T, C)
    const qkv = F.reshape(this.c_attn.forward(x), [B, T, 3, nh, hs]); // (B, T, 3, nh, hs)
    const heads = F.permute(qkv, [2, 0, 3, 1, 4]); // (3, B, nh, T, hs)
    const part = (i: number) => F.reshape(F.slice(heads, 0, i, i + 1), [B, nh, T, hs]); // (B, nh, T, hs)
    let [q, k, v] = [part(0), part(1), part(2)];
    [k, v] = cache.update(layer, k, v); // (B, nh, Tpast + T, hs)
    const y = F.attention(q, k, v); // (B, nh, T, hs)
    const merged = F.reshape(F.permute(y, [0, 2, 1, 3]), [B, T, C]); // (B, T, C)
    return this.c_proj.forward(merged);
  }
}

class Gpt2Mlp extends Module {
  readonly c_fc: Linear;
  readonly c_proj: Linear;
  constructor(f: ParamFactory, cfg: Gpt2Config) {
    super();
    this.c_fc = new Linear(f, cfg.nEmbd, cfg.nInner, { bias: true, layout: 'in_out' });
    this.c_proj = new Linear(f, cfg.nInner, cfg.nEmbd, { bias: true, layout: 'in_out' });
  }
  forward(x: Tensor): Tensor {
    return this.c_proj.forward(F.gelu(this.c_fc.forward(x)));
  }
}

export class Gpt2Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: Gpt2Attention;
  readonly ln_2: LayerNorm;
  readonly mlp: Gpt2Mlp;
  constructor(f: ParamFactory, cfg: Gpt2Config) {
    super();
    this.ln_1 = new LayerNorm(f, cfg.nEmbd, cfg.layerNormEps);
    this.attn = new Gpt2Attention(f, cfg);
    this.ln_2 = new LayerNorm(f, cfg.nEmbd, cfg.layerNormEps);
    this.mlp = new Gpt2Mlp(f, cfg);
  }
  forward(x: Tensor, layer: number, cache?: KVCache): Tensor {
    // Each sub-layer runs in a scope: what its backward does not need is freed as soon as it returns.
    const h = F.add(x, scope(() => this.attn.forward(this.ln_1.forward(x), layer, cache)));
    return F.add(h, scope(() => this.mlp.forward(this.ln_2.forward(h))));
  }
}

class Gpt2Transformer extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly h: ModuleList<Gpt2Block>;
  readonly ln_f: LayerNorm;
  constructor(f: ParamFactory, cfg: Gpt2Config) {
    super();
    this.wte = new Embedding(f, cfg.vocabSize, cfg.nEmbd);
    this.wpe = new Embedding(f, cfg.nPositions, cfg.nEmbd);
    this.h = new ModuleList(Array.from({ length: cfg.nLayer }, () => new Gpt2Block(f, cfg)));
    this.ln_f = new LayerNorm(f, cfg.nEmbd, cfg.layerNormEps);
  }
}

export class Gpt2Model extends Module implements CausalLM {
  readonly transformer: Gpt2Transformer;
  /** Untied head (only when tie_word_embeddings is false). */
  readonly lm_head: Linear | null;
  readonly blocks: readonly Gpt2Block[];
  gradientCheckpointing = false;

  constructor(readonly config: Gpt2Config, f: ParamFactory = {}) {
    super();
    this.transformer = new Gpt2Transformer(f, config);
    this.lm_head = config.tieWordEmbeddings ? null : new Linear(f, config.nEmbd, config.vocabSize);
    this.blocks = this.transformer.h.items;
    this.assignNames();
  }

  get maxPositions(): number { return this.config.nPositions; }


  nonBlockParameters(): NonBlockParameter[] {
    const t = this.transformer;
    return roleParameters([['embed', t.wte], ['posEmbed', t.wpe], ['finalNorm', t.ln_f], ['head', this.lm_head]]);
  }

  forward(ids: Int32Array, B: number, T: number, cache?: KVCache): Tensor {
    const x = this.hidden(ids, B, T, cache); // (B, T, C)
    return this.lm_head ? this.lm_head.forward(x) : F.linear(x, this.transformer.wte.weight); // (B, T, V)
  }

  plainHead(): { weight: Parameter; bias: Parameter | null } | null {
    if (this.lm_head?.getAdapter()) return null;
    return { weight: this.lm_head ? this.lm_head.weight : this.transformer.wte.weight, bias: this.lm_head?.bias ?? null };
  }

  hidden(ids: Int32Array, B: number, T: number, cache?: KVCache): Tensor {
    const start = cache?.length ?? 0;
    if (start + T > this.config.nPositions) {
      throw new ArgumentError(`gpt2: ${start + T} positions exceed the context size n_positions=${this.config.nPositions}`);
    }
    const t = this.transformer;
    const pos = Int32Array.from({ length: T }, (_, i) => start + i);
    let x = scope(() => F.add(t.wte.forward(ids, [B, T]), t.wpe.forward(pos, [T]))); // (B, T, C)
    this.blocks.forEach((block, i) => (x = scope(() => cache || !this.gradientCheckpointing ? block.forward(x, i, cache)
      : checkpointBlock(block, x, (h) => block.forward(h, i)))));
    cache?.advance(T);
    return t.ln_f.forward(x); // (B, T, C)
  }
}
