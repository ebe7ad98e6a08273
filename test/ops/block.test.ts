// A tiny pre-norm transformer block built from the engine's ops, in a GPT-2 flavour (LayerNorm, fused Conv1D
// c_attn, causal MHA, gelu_new MLP) and a Llama flavour (RMSNorm, q/k/v/o Linear, GQA, rotate-half RoPE,
// SwiGLU), then a final norm, an LM head and cross-entropy with one ignored target: logits, loss, every
// parameter gradient and d input against PyTorch (fixture: scripts/gen_op_fixtures.py), on every backend.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, DType } from '../../src/backends/backend.js';
import { cpuJs } from '../../src/backends/cpu-js/index.js';
import { Parameter, type Tensor } from '../../src/tensor/tensor.js';
import { scope } from '../../src/tensor/scope.js';
import { backward } from '../../src/autograd/backward.js';
import * as ops from '../../src/ops/index.js';
import { BACKENDS } from '../backends-under-test.js';
import { repoRoot } from '../helpers.js';

interface BlockFx {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  config: Record<string, any>;
  x: number[];
  targets: number[];
  params: Record<string, { shape: number[]; data: number[] }>;
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
  dx: number[];
}
type Flavour = 'gpt2' | 'llama';
const fx: Record<Flavour, BlockFx> = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/block.json'), 'utf8'));

type P = Record<string, Parameter>;

/** x (B, T, C) -> logits (B, T, V): x + attn(ln_1(x)), + mlp(ln_2(.)), ln_f, lm_head. */
function gpt2(p: P, x: Tensor, cfg: BlockFx['config']): Tensor {
  const { B, T, C, nh, hs, eps } = cfg;
  const conv1d = (h: Tensor, n: string) => ops.linear(h, p[`${n}.weight`], p[`${n}.bias`], { layout: 'in_out' });
  const ln = (h: Tensor, n: string) => ops.layerNorm(h, p[`${n}.weight`], p[`${n}.bias`], eps);
  const qkv = conv1d(ln(x, 'ln_1'), 'attn.c_attn'); // (B, T, 3C)
  const heads = (i: number) => ops.permute(ops.reshape(ops.slice(qkv, 2, i * C, (i + 1) * C), [B, T, nh, hs]), [0, 2, 1, 3]); // (B, nh, T, hs)
  const att = ops.attention(heads(0), heads(1), heads(2)); // (B, nh, T, hs)
  const y = ops.reshape(ops.permute(att, [0, 2, 1, 3]), [B, T, C]); // (B, T, C)
  const x1 = ops.add(x, conv1d(y, 'attn.c_proj'));
  const m = conv1d(ops.gelu(conv1d(ln(x1, 'ln_2'), 'mlp.c_fc')), 'mlp.c_proj'); // (B, T, C)
  const x2 = ops.add(x1, m);
  return ops.linear(ln(x2, 'ln_f'), p['lm_head.weight']); // (B, T, V)
}

/** x (B, T, C) -> logits (B, T, V): x + attn(rms(x)) with GQA and RoPE, + SwiGLU(rms(.)), norm, lm_head. */
function llama(p: P, x: Tensor, cfg: BlockFx['config'], dtype: DType, backend: Backend): Tensor {
  const { B, T, nh, nkv, hs, eps, theta } = cfg;
  const lin = (h: Tensor, n: string) => ops.linear(h, p[`${n}.weight`]);
  const { cos, sin } = ops.ropeTables(T, hs, theta, 0, { dtype, backend }); // (T, hs/2)
  const h = ops.rmsNorm(x, p['input_layernorm.weight'], eps); // (B, T, C)
  const heads = (t: Tensor, n: number) => ops.permute(ops.reshape(t, [B, T, n, hs]), [0, 2, 1, 3]); // (B, n, T, hs)
  const q = ops.rope(heads(lin(h, 'self_attn.q_proj'), nh), cos, sin, 'half'); // (B, nh, T, hs)
  const k = ops.rope(heads(lin(h, 'self_attn.k_proj'), nkv), cos, sin, 'half'); // (B, nkv, T, hs)
  const v = heads(lin(h, 'self_attn.v_proj'), nkv); // (B, nkv, T, hs)
  const y = ops.reshape(ops.permute(ops.attention(q, k, v), [0, 2, 1, 3]), [B, T, nh * hs]); // (B, T, nh*hs)
  const x1 = ops.add(x, lin(y, 'self_attn.o_proj'));
  const h2 = ops.rmsNorm(x1, p['post_attention_layernorm.weight'], eps);
  const m = lin(ops.mul(ops.silu(lin(h2, 'mlp.gate_proj')), lin(h2, 'mlp.up_proj')), 'mlp.down_proj'); // (B, T, C)
  const x2 = ops.add(x1, m);
  return lin(ops.rmsNorm(x2, p['norm.weight'], eps), 'lm_head'); // (B, T, V)
}

interface Tol { logits: number; loss: number; grad: number; gradAtol: number }

function check(flavour: Flavour, backend: Backend, dtype: DType, tol: Tol): void {
  const f = fx[flavour];
  const { B, T, C } = f.config;
  // Fixture decimals are float32 values (fround makes float64 see them exactly).
  const arr = (xs: number[]) => (dtype === 'float64' ? Float64Array.from(xs, Math.fround) : Float32Array.from(xs));
  const p: P = Object.fromEntries(Object.entries(f.params).map(([n, { shape, data }]) =>
    [n, Parameter.fromData(n, arr(data), shape, { backend })]));
  const got = scope(() => {
    const x = ops.tensor(arr(f.x), [B, T, C], { dtype, backend, requiresGrad: true });
    const logits = flavour === 'gpt2' ? gpt2(p, x, f.config) : llama(p, x, f.config, dtype, backend);
    const loss = ops.crossEntropy(logits, Int32Array.from(f.targets), { ignoreIndex: -100 });
    backward(loss);
    const dx = x.grad!.toArray();
    x.grad!.dispose();
    return { logits: logits.toArray(), loss: loss.item(), dx };
  });
  got.logits.forEach((v, i) => {
    if (!(Math.abs(v - f.logits[i]) <= tol.logits)) throw new Error(`${flavour} logits[${i}]: ${v} vs PyTorch ${f.logits[i]}`);
  });
  expect(Math.abs(got.loss - f.loss) / Math.abs(f.loss), `${flavour} loss ${got.loss} vs ${f.loss}`).toBeLessThan(tol.loss);
  expect(Object.keys(p).sort()).toEqual(Object.keys(f.grads).sort());
  const grads: [string, number[], number[]][] = Object.entries(p).map(([n, t]) => [n, t.grad!.toArray(), f.grads[n]]);
  grads.push(['d input', got.dx, f.dx]);
  for (const [name, g, want] of grads) {
    expect(g.length, `${flavour} ${name}: gradient size`).toBe(want.length);
    g.forEach((v, i) => {
      if (!(Math.abs(v - want[i]) <= tol.gradAtol + tol.grad * Math.abs(want[i]))) {
        throw new Error(`${flavour} ${name}[${i}]: ${v} vs PyTorch ${want[i]} (rtol ${tol.grad}, atol ${tol.gradAtol})`);
      }
    });
  }
  for (const t of Object.values(p)) {
    t.zeroGrad();
    t.dispose();
  }
}

const FLAVOURS: Flavour[] = ['gpt2', 'llama'];

describe('a tiny transformer block matches PyTorch (forward + backward)', () => {
  // float64: only summation order differs from torch (~1e-15 relative); 1e-9 keeps a wide margin.
  it.each(FLAVOURS)('%s in float64 on cpu-js: logits, loss and every gradient to 1e-9', (flavour) => {
    check(flavour, cpuJs, 'float64', { logits: 1e-10, loss: 1e-10, grad: 1e-9, gradAtol: 1e-12 });
  });

  describe.each(BACKENDS)('on %s (float32)', (_b, backend) => {
    // float32 through two residual sub-blocks, a final norm and the head: logits are O(1) with errors of a few
    // 1e-7, so atol 1e-4; loss and gradients rtol 1e-4. Gradient entries that are sums of mixed-sign terms can
    // land near zero, where the error is set by the terms (~6e-8 * sum|terms|, terms <= O(0.1) here), not the
    // entry; the key part of GPT-2's c_attn bias even has an exactly-zero gradient (softmax ignores a per-row
    // shift), leaving only rounding noise. An absolute floor of 1e-6 (~1e-4 of the gradients' typical size,
    // ~1e-2, and ~10x the float32 noise measured on those entries) covers them.
    it.each(FLAVOURS)('%s: logits atol 1e-4, loss and every gradient rtol 1e-4', (flavour) => {
      check(flavour, backend, 'float32', { logits: 1e-4, loss: 1e-4, grad: 1e-4, gradAtol: 1e-6 });
    });
  });
});
