// Shape-level replay of one training step's activation memory: each op's forward and backward allocations
// (src/ops) and the backward driver (src/autograd/backward.ts) mirrored on shapes alone, for any model size.
import { topoOrder } from '../autograd/backward.js';
import type { Parameter } from '../tensor/tensor.js';
import type { CausalLM } from '../models/causal-lm.js';
import type { Gpt2Config, LlamaConfig } from '../models/config.js';
import { Linear } from '../nn/layers.js';
import { contiguousStrides, numel, broadcastShapes, type Shape } from '../util/shape.js';
import { LoraAdapter } from './lora.js';
import { defaultChunkRows } from '../ops/linear-cross-entropy.js';

/** A storage: elements, views on it, and whether it counts as activations or (once adopted) gradients. */
interface Store { readonly elems: number; refs: number; kind: 'act' | 'grad' | 'param' }

interface SNode {
  readonly op: string;
  readonly inputs: readonly STensor[];
  backward(g: STensor, needs: readonly boolean[]): (STensor | null)[];
}

/** A symbolic tensor: shape, strides and offset over a Store, with the autograd fields that matter here. */
class STensor {
  rg = false;
  node: SNode | null = null;
  disposed = false;
  /** The parameter's name, for leaves (labels where the peak happens). */
  name = '';
  constructor(readonly st: Store, readonly shape: readonly number[], readonly strides: readonly number[], readonly offset: number) {
    st.refs++;
  }
  get size(): number { return numel(this.shape); }
  isContiguous(): boolean {
    let s = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== s) return false;
      s *= this.shape[i];
    }
    return true;
  }
  isDense(): boolean { return this.offset === 0 && this.isContiguous() && this.size === this.st.elems; }
}

/** Activation elements over one step, with the breakdown the estimate reports. */
export interface ReplayResult {
  /** Peak live activation elements (forward and backward). */
  peak: number;
  /** Where the peak happened, e.g. 'backward of embedding'. */
  peakAt: string;
  /** Peak of activations + gradients alive at once (for the simultaneous total). */
  peakWithGradients: number;
  /** Elements kept by the scope after the forward and the loss (before backward). */
  forward: number;
  /** Kept by the embeddings (and RoPE tables) before block 0. */
  embeddings: number;
  /** Kept per block, in order. */
  blocks: number[];
  /** Kept by the final norm. */
  finalNorm: number;
  /** Logits (B, T, V) when the head is unfused (an adapter on lm_head); 0 with the fused chunked head. */
  logits: number;
  /** Kept by the loss (logsumexp per row and the scalar loss). */
  crossEntropy: number;
  /** Gradient elements adopted by parameters (those that receive a gradient this step). */
  gradients: number;
}

export interface ReplayOptions { batch: number; seq: number; loraDropout?: number }

/** Replays forward + cross-entropy + backward of `model` (parameters' requiresGrad and LoRA adapters as set). */
export function replayStep(model: CausalLM, opts: ReplayOptions): ReplayResult {
  return new Replay(model, opts).run();
}

class Replay {
  private live = 0;
  private grads = 0;
  private peak = 0;
  private peakSum = 0;
  private peakAt = '';
  private phase = 'forward';
  private gradEnabled = true;
  private readonly leaves = new Map<Parameter, STensor>();
  private readonly params: Map<string, Parameter>;
  private readonly modules: Map<string, unknown>;

  constructor(private readonly model: CausalLM, private readonly opts: ReplayOptions) {
    this.params = new Map(model.namedParameters());
    this.modules = new Map(model.namedModules());
  }

  run(): ReplayResult {
    const { batch: B, seq: T } = this.opts;
    // marks: live after the embeddings, after each block, after the final norm, after the logits
    const marks: number[] = [];
    const gpt2 = this.model.config.family === 'gpt2';
    const x = gpt2 ? this.gpt2(this.model.config as Gpt2Config, B, T, marks) : this.llama(this.model.config as LlamaConfig, B, T, marks);
    // The loss as models/lm-loss.ts computes it: the fused chunked head, or logits + crossEntropy under an adapter.
    const head = this.model.plainHead();
    let loss: STensor;
    if (head) {
      const x2 = this.reshape(x, [B * T, x.shape[2]]); // (B*T, C)
      marks.push(this.live);
      this.phase = 'crossEntropy';
      loss = this.linearCrossEntropy(x2, this.leaf(head.weight), head.bias ? this.leaf(head.bias) : null);
    } else {
      const logits = this.head(x, gpt2 ? 'transformer.wte.weight' : 'model.embed_tokens.weight');
      marks.push(this.live);
      this.phase = 'crossEntropy';
      loss = this.crossEntropy(logits);
    }
    const L = marks.length - 3;
    const forward = this.live;
    if (loss.rg) this.backward(loss);
    return {
      peak: this.peak, peakAt: this.peakAt, peakWithGradients: this.peakSum, forward,
      embeddings: marks[0], blocks: marks.slice(1, L + 1).map((m, i) => m - marks[i]), finalNorm: marks[L + 1] - marks[L],
      logits: marks[L + 2] - marks[L + 1], crossEntropy: forward - marks[L + 2], gradients: this.grads,
    };
  }

  // ---- accounting ----
  private note(): void {
    if (this.live > this.peak) {
      this.peak = this.live;
      this.peakAt = this.phase;
    }
    if (this.live + this.grads > this.peakSum) this.peakSum = this.live + this.grads;
  }
  private empty(shape: Shape): STensor {
    const st: Store = { elems: numel(shape), refs: 0, kind: 'act' };
    this.live += st.elems;
    this.note();
    return new STensor(st, [...shape], contiguousStrides(shape), 0);
  }
  private view(x: STensor, shape: Shape = x.shape, strides: readonly number[] = x.strides, offset = x.offset): STensor {
    return new STensor(x.st, shape, strides, offset);
  }
  private dispose(t: STensor): void {
    if (t.disposed) return;
    t.disposed = true;
    t.node = null;
    if (--t.st.refs === 0) {
      if (t.st.kind === 'act') this.live -= t.st.elems;
      else if (t.st.kind === 'grad') this.grads -= t.st.elems;
    }
  }
  private dense(t: STensor): STensor { return t.isDense() ? t : this.empty(t.shape); }
  private release(tmp: STensor, orig: STensor): void { if (tmp !== orig) this.dispose(tmp); }
  private record(out: STensor, op: string, inputs: STensor[], backward: SNode['backward'], saved: STensor[] = []): STensor {
    if (!(this.gradEnabled && inputs.some((t) => t.rg))) {
      for (const t of saved) if (!inputs.includes(t)) this.dispose(t);
      return out;
    }
    out.rg = true;
    out.node = { op, inputs, backward };
    return out;
  }
  private leaf(p: Parameter): STensor {
    let t = this.leaves.get(p);
    if (!t) {
      t = new STensor({ elems: p.size, refs: 0, kind: 'param' }, p.shape, contiguousStrides(p.shape), 0);
      t.rg = p.requiresGrad;
      t.name = p.name ?? '';
      this.leaves.set(p, t);
    }
    return t;
  }
  private p(name: string): STensor {
    const p = this.params.get(name);
    if (!p) throw new Error(`memory replay: model has no parameter '${name}'`);
    return this.leaf(p);
  }

  // ---- backward driver (autograd/backward.ts) ----
  private backward(root: STensor): void {
    this.gradEnabled = false;
    const grads = new Map<STensor, STensor>();
    this.phase = 'backward seed';
    grads.set(root, this.empty(root.shape));
    const order = topoOrder(root, (t) => t.rg);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.node) {
        this.accumulateLeaf(g);
        continue;
      }
      const { inputs } = t.node;
      const needs = inputs.map((x) => x.rg);
      this.phase = `backward of ${t.node.op}`;
      const inGrads = t.node.backward(g, needs);
      for (let i = 0; i < inputs.length; i++) {
        let gi = inGrads[i];
        if (!needs[i] || !gi) continue;
        const x = inputs[i];
        if (gi === g || inGrads.indexOf(gi) < i) gi = this.view(gi);
        const prev = grads.get(x);
        if (!prev) grads.set(x, gi);
        else {
          const sum = prev.isDense() && prev.st.refs === 1 ? prev : this.empty(prev.shape);
          if (sum !== prev) this.dispose(prev);
          this.dispose(gi);
          grads.set(x, sum);
        }
      }
      this.dispose(g);
    }
    this.gradEnabled = true;
  }

  private accumulateLeaf(g: STensor): void {
    const own = g.isDense() && g.st.refs === 1 ? g : this.empty(g.shape);
    if (own !== g) this.dispose(g);
    own.st.kind = 'grad';
    this.live -= own.st.elems;
    this.grads += own.st.elems;
  }

  // ---- ops (src/ops), same allocation order and frees ----
  private sumTo(g: STensor, shape: Shape): STensor {
    if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
    const gd = this.dense(g);
    const out = this.empty(shape);
    this.release(gd, g);
    return out;
  }
  private reduced(g: STensor, shape: Shape): STensor {
    const r = this.sumTo(g, shape);
    if (r !== g) this.dispose(g);
    return r;
  }
  private kernel(a: STensor, b: STensor): STensor { return this.empty(broadcastShapes('replay', a.shape, b.shape)); }

  private add(a: STensor, b: STensor): STensor {
    return this.record(this.kernel(a, b), 'add', [a, b], (g, n) => [n[0] ? this.sumTo(g, a.shape) : null, n[1] ? this.sumTo(g, b.shape) : null]);
  }
  private mul(a: STensor, b: STensor): STensor {
    return this.record(this.kernel(a, b), 'mul', [a, b], (g, n) => [
      n[0] ? this.reduced(this.kernel(g, b), a.shape) : null,
      n[1] ? this.reduced(this.kernel(g, a), b.shape) : null,
    ]);
  }
  private unary(x: STensor): STensor {
    const xd = this.dense(x);
    const out = this.empty(x.shape);
    this.release(xd, x);
    return out;
  }
  /** gelu / silu: backward is one fused kernel over (x, g). */
  private activation(op: string, x: STensor): STensor {
    return this.record(this.unary(x), op, [x], (g) => [this.kernel(x, g)]);
  }
  private scale(x: STensor): STensor {
    return this.record(this.unary(x), 'affine', [x], (g) => [this.unary(g)]);
  }
  private embedding(w: STensor, shape: Shape): STensor {
    const wd = this.dense(w);
    const out = this.empty([...shape, w.shape[1]]);
    this.release(wd, w);
    return this.record(out, `embedding ${w.name}`, [w], (g) => {
      const gd = this.dense(g);
      const gw = this.empty(w.shape);
      this.release(gd, g);
      return [gw];
    });
  }
  private reshape(x: STensor, s: Shape): STensor {
    let out: STensor;
    if (x.isContiguous()) out = this.view(x, s, contiguousStrides(s), x.offset);
    else {
      const c = this.empty(x.shape);
      out = this.view(c, s, contiguousStrides(s), 0);
      this.dispose(c);
    }
    return this.record(out, 'reshape', [x], (g) => [this.reshape(g, x.shape)]);
  }
  private permute(x: STensor, perm: readonly number[]): STensor {
    const out = this.view(x, perm.map((p) => x.shape[p]), perm.map((p) => x.strides[p]), x.offset);
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return this.record(out, 'permute', [x], (g) => [this.permute(g, inverse)]);
  }
  private slice(x: STensor, d: number, s: number, e: number): STensor {
    const shape = [...x.shape];
    shape[d] = e - s;
    const out = this.view(x, shape, x.strides, x.offset + s * x.strides[d]);
    return this.record(out, 'slice', [x], () => [this.empty(x.shape)]);
  }
  private matmul(a: STensor, b: STensor, outShape: Shape): STensor {
    const ad = this.dense(a);
    const bd = this.dense(b);
    const out = this.empty(outShape);
    this.release(ad, a);
    this.release(bd, b);
    return out;
  }
  private linear(x: STensor, w: STensor, bias: STensor | null, layout: 'out_in' | 'in_out', label = `linear ${w.name}`): STensor {
    const [inF, outF] = layout === 'out_in' ? [w.shape[1], w.shape[0]] : [w.shape[0], w.shape[1]];
    const rows = x.size / inF;
    const xd = this.dense(x);
    const wd = this.dense(w);
    const y = this.empty([...x.shape.slice(0, -1), outF]);
    if (bias) this.release(this.dense(bias), bias);
    this.release(xd, x);
    this.release(wd, w);
    const inputs = bias ? [x, w, bias] : [x, w];
    return this.record(y, label, inputs, (g, needs) => {
      const g2 = this.reshape(g, [rows, outF]);
      let gx: STensor | null = null;
      let gw: STensor | null = null;
      let gb: STensor | null = null;
      if (needs[0]) {
        const gx2 = this.matmul(g2, w, [rows, inF]);
        gx = this.reshape(gx2, x.shape);
        this.dispose(gx2);
      }
      if (needs[1]) {
        const x2 = this.reshape(x, [rows, inF]);
        gw = layout === 'out_in' ? this.matmul(g2, x2, w.shape) : this.matmul(x2, g2, w.shape);
        this.dispose(x2);
      }
      if (needs[2]) gb = this.sumTo(g2, [outF]);
      this.dispose(g2);
      return [gx, gw, gb];
    });
  }
  private layerNorm(x: STensor, w: STensor, b: STensor): STensor {
    const rows = x.size / x.shape[x.shape.length - 1];
    const xd = this.dense(x);
    const wd = this.dense(w);
    const bd = this.dense(b);
    const y = this.empty(x.shape);
    const mean = this.empty([rows]);
    const rstd = this.empty([rows]);
    this.release(bd, b);
    return this.record(y, `layerNorm ${w.name}`, [x, w, b], (g, needs) => this.normBackward(g, needs, [x, w, b]), [xd, wd, mean, rstd]);
  }
  private rmsNorm(x: STensor, w: STensor): STensor {
    const rows = x.size / x.shape[x.shape.length - 1];
    const xd = this.dense(x);
    const wd = this.dense(w);
    const y = this.empty(x.shape);
    const rstd = this.empty([rows]);
    return this.record(y, `rmsNorm ${w.name}`, [x, w], (g, needs) => this.normBackward(g, needs, [x, w]), [xd, wd, rstd]);
  }
  private normBackward(g: STensor, needs: readonly boolean[], inputs: STensor[]): (STensor | null)[] {
    const gd = this.dense(g);
    const out = inputs.map((t, i) => (needs[i] ? this.empty(t.shape) : null));
    this.release(gd, g);
    return out;
  }
  private attention(q: STensor, k: STensor, v: STensor): STensor {
    const [B, nh, T] = q.shape;
    const Tk = k.shape[2];
    const qd = this.dense(q);
    const kd = this.dense(k);
    const vd = this.dense(v);
    const scores = this.empty([B, nh, T, Tk]);
    const probs = this.empty(scores.shape);
    this.dispose(scores);
    const out = this.empty(q.shape);
    return this.record(out, 'attention', [q, k, v], (g, needs) => {
      const gd = this.dense(g);
      const gv = needs[2] ? this.empty(v.shape) : null;
      let gq: STensor | null = null;
      let gk: STensor | null = null;
      if (needs[0] || needs[1]) {
        const gp = this.empty(probs.shape);
        const gs = this.empty(probs.shape);
        this.dispose(gp);
        if (needs[0]) gq = this.empty(q.shape);
        if (needs[1]) gk = this.empty(k.shape);
        this.dispose(gs);
      }
      this.release(gd, g);
      return [gq, gk, gv];
    }, [qd, kd, vd, probs]);
  }
  private rope(x: STensor): STensor {
    return this.record(this.unary(x), 'rope', [x], (g) => [this.unary(g)]);
  }
  private crossEntropy(logits: STensor): STensor {
    const rows = logits.size / logits.shape[logits.shape.length - 1];
    const ld = this.dense(logits);
    const losses = this.empty([rows]);
    const lse = this.empty([rows]);
    this.dispose(losses);
    const out = this.empty([]);
    return this.record(out, 'crossEntropy', [logits], () => {
      const scale = this.empty([rows]);
      const gl = this.empty(logits.shape);
      this.dispose(scale);
      return [gl];
    }, [ld, lse]);
  }

  /** ops/linear-cross-entropy.ts: lse kept; chunk buffers (logits, losses) in forward; backward recomputes per chunk. */
  private linearCrossEntropy(x: STensor, w: STensor, bias: STensor | null): STensor {
    const [N] = x.shape;
    const V = w.shape[0];
    const rowsMax = Math.max(1, Math.min(defaultChunkRows(V), N));
    const lse = this.empty([N]);
    [this.empty([rowsMax, V]), this.empty([rowsMax])].forEach((t) => this.dispose(t)); // logits, losses
    const inputs = bias ? [x, w, bias] : [x, w];
    return this.record(this.empty([]), 'linearCrossEntropy', inputs, (g, needs) => {
      const out = [needs[0] ? this.empty(x.shape) : null, needs[1] ? this.empty(w.shape) : null, bias && needs[2] ? this.empty(bias.shape) : null];
      const temps = [this.empty([rowsMax, V]), this.empty([rowsMax, V]), this.empty([rowsMax]), ...(out[2] ? [this.empty([1, V])] : [])];
      temps.forEach((t) => this.dispose(t));
      return out;
    }, [lse]);
  }

  // ---- modules ----
  /** Linear.forward, with a LoRA adapter's apply (dropout, B(A(x)), scale, add) when one is attached. */
  private linearModule(name: string, x: STensor): STensor {
    const lin = this.modules.get(name);
    if (!(lin instanceof Linear)) throw new Error(`memory replay: model has no linear module '${name}'`);
    const y = this.linear(x, this.leaf(lin.weight), lin.bias ? this.leaf(lin.bias) : null, lin.layout);
    const a = lin.getAdapter();
    if (!a) return y;
    if (!(a instanceof LoraAdapter)) throw new Error(`memory replay: '${name}' has an adapter of an unknown kind`);
    if (a.merged) return y;
    const p = this.opts.loraDropout ?? 0;
    const xd = p > 0 ? this.mul(x, this.empty(x.shape)) : x;
    const hA = this.linear(xd, this.leaf(a.lora_A.weight), null, 'out_in');
    const delta = this.linear(hA, this.leaf(a.lora_B.weight), null, 'out_in');
    return this.add(y, this.scale(delta));
  }

  /** The unfused LM head: lm_head's Linear.forward (with its adapter), or F.linear on the embedding when tied. */
  private head(x: STensor, embed: string): STensor {
    if (this.modules.get('lm_head') instanceof Linear) return this.linearModule('lm_head', x);
    return this.linear(x, this.p(embed), null, 'out_in', `linear lm_head (tied to ${embed})`);
  }

  private gpt2(c: Gpt2Config, B: number, T: number, marks: number[]): STensor {
    const nh = c.nHead;
    const C = c.nEmbd;
    const hs = C / nh;
    const ln = (pre: string, x: STensor) => this.layerNorm(x, this.p(`${pre}.weight`), this.p(`${pre}.bias`));
    this.phase = 'forward';
    let x = this.add(this.embedding(this.p('transformer.wte.weight'), [B, T]), this.embedding(this.p('transformer.wpe.weight'), [T])); // (B, T, C)
    marks.push(this.live);
    for (let i = 0; i < c.nLayer; i++) {
      const pre = `transformer.h.${i}.`;
      const qkv = this.reshape(this.linearModule(`${pre}attn.c_attn`, ln(`${pre}ln_1`, x)), [B, T, 3, nh, hs]); // (B, T, 3, nh, hs)
      const heads = this.permute(qkv, [2, 0, 3, 1, 4]); // (3, B, nh, T, hs)
      const part = (j: number) => this.reshape(this.slice(heads, 0, j, j + 1), [B, nh, T, hs]); // (B, nh, T, hs): a copy
      const [q, k, v] = [part(0), part(1), part(2)];
      const y = this.attention(q, k, v);
      const merged = this.reshape(this.permute(y, [0, 2, 1, 3]), [B, T, C]); // (B, T, C): a copy
      const h = this.add(x, this.linearModule(`${pre}attn.c_proj`, merged));
      const m = this.activation('gelu', this.linearModule(`${pre}mlp.c_fc`, ln(`${pre}ln_2`, h)));
      x = this.add(h, this.linearModule(`${pre}mlp.c_proj`, m));
      marks.push(this.live);
    }
    x = ln('transformer.ln_f', x);
    marks.push(this.live);
    return x;
  }

  private llama(c: LlamaConfig, B: number, T: number, marks: number[]): STensor {
    const { numHeads: nh, numKvHeads: nkv, headDim: hs } = c;
    this.phase = 'forward';
    this.empty([T, hs / 2]); // RoPE cos table
    this.empty([T, hs / 2]); // RoPE sin table
    let x = this.embedding(this.p('model.embed_tokens.weight'), [B, T]); // (B, T, C)
    marks.push(this.live);
    const heads = (t: STensor, n: number) => this.permute(this.reshape(t, [B, T, n, hs]), [0, 2, 1, 3]); // (B, n, T, hs)
    for (let i = 0; i < c.numLayers; i++) {
      const pre = `model.layers.${i}.`;
      const a = this.rmsNorm(x, this.p(`${pre}input_layernorm.weight`));
      const q = this.rope(heads(this.linearModule(`${pre}self_attn.q_proj`, a), nh));
      const k = this.rope(heads(this.linearModule(`${pre}self_attn.k_proj`, a), nkv));
      const v = heads(this.linearModule(`${pre}self_attn.v_proj`, a), nkv);
      const y = this.attention(q, k, v);
      const o = this.linearModule(`${pre}self_attn.o_proj`, this.reshape(this.permute(y, [0, 2, 1, 3]), [B, T, nh * hs])); // (B, T, C)
      const h = this.add(x, o);
      const n = this.rmsNorm(h, this.p(`${pre}post_attention_layernorm.weight`));
      const gate = this.activation('silu', this.linearModule(`${pre}mlp.gate_proj`, n));
      const m = this.mul(gate, this.linearModule(`${pre}mlp.up_proj`, n));
      x = this.add(h, this.linearModule(`${pre}mlp.down_proj`, m));
      marks.push(this.live);
    }
    x = this.rmsNorm(x, this.p('model.norm.weight'));
    marks.push(this.live);
    return x;
  }
}

