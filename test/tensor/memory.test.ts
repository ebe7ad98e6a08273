// Memory: scopes free every intermediate (flat live count and bytes over 200 training-like steps), and peak
// bytes by category equal the arithmetic for a known model.
import { describe, it, expect } from 'vitest';
import { Parameter, Tensor } from '../../src/tensor/tensor.js';
import { scope } from '../../src/tensor/scope.js';
import { memoryReport, resetPeaks } from '../../src/tensor/memory.js';
import { backward } from '../../src/autograd/backward.js';
import * as ops from '../../src/ops/index.js';
import { Rng } from '../../src/util/rng.js';
import { BACKENDS } from '../backends-under-test.js';

function param(name: string, shape: number[], rng: Rng, backend: Tensor['backend']): Parameter {
  const p = Parameter.zeros(name, shape, { backend });
  for (let i = 0; i < p.buf.length; i++) p.buf[i] = 0.1 * rng.normal();
  return p;
}

/** AdamW state as kept 'optimizer' tensors, updated with the backend's fused kernel. */
function adamwStep(params: Parameter[], state: Map<Parameter, [Tensor, Tensor]>, step: number): void {
  for (const p of params) {
    if (!p.grad) continue;
    let s = state.get(p);
    if (!s) {
      s = [Tensor.empty(p.shape, { backend: p.backend, category: 'optimizer' }).keep(),
        Tensor.empty(p.shape, { backend: p.backend, category: 'optimizer' }).keep()];
      state.set(p, s);
    }
    p.backend.adamw(p.buf, p.grad.buf, s[0].buf, s[1].buf, p.size, 1e-3, 0.9, 0.999, 1e-8, 0.01, step);
    p.zeroGrad();
  }
}

describe.each(BACKENDS)('memory accounting on %s', (_name, backend) => {
  it('live tensor count and bytes stay flat over 200 training-like steps', () => {
    const rng = new Rng(7);
    const B = 2, T = 6, C = 8, nh = 2, V = 13;
    const params = [
      param('ln.weight', [C], rng, backend), param('ln.bias', [C], rng, backend),
      param('qkv.weight', [3 * C, C], rng, backend), param('proj.weight', [C, C], rng, backend),
      param('fc.weight', [4 * C, C], rng, backend), param('fc.bias', [4 * C], rng, backend),
      param('head.weight', [V, C], rng, backend), param('wte', [V, C], rng, backend),
    ];
    const [lnw, lnb, wqkv, wproj, wfc, bfc, whead, wte] = params;
    const state = new Map<Parameter, [Tensor, Tensor]>();
    const samples: { count: number; bytes: number }[] = [];
    for (let step = 1; step <= 200; step++) {
      const ids = Int32Array.from({ length: B * T }, () => rng.int(V));
      const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 5 === 0 ? -100 : rng.int(V)));
      const loss = scope(() => {
        const x = ops.embedding(wte, ids, [B, T]); // (B, T, C)
        const h = ops.layerNorm(x, lnw, lnb);
        const qkv = ops.reshape(ops.linear(h, wqkv), [B, T, 3, nh, C / nh]); // (B, T, 3, nh, hs)
        const heads = ops.permute(qkv, [2, 0, 3, 1, 4]); // (3, B, nh, T, hs)
        const [q, k, v] = [0, 1, 2].map((i) => ops.reshape(ops.slice(heads, 0, i, i + 1), [B, nh, T, C / nh]));
        const att = ops.reshape(ops.permute(ops.attention(q, k, v), [0, 2, 1, 3]), [B, T, C]); // (B, T, C)
        const x2 = ops.add(x, ops.linear(att, wproj));
        const x3 = ops.add(x2, ops.linear(ops.gelu(ops.linear(x2, wfc, bfc)), wfc, null, { layout: 'in_out' }));
        const logits = ops.linear(x3, whead); // (B, T, V)
        const l = ops.crossEntropy(logits, targets);
        backward(l);
        return l.item();
      });
      expect(Number.isFinite(loss)).toBe(true);
      adamwStep(params, state, step);
      const r = memoryReport();
      samples.push({ count: r.liveStorages, bytes: r.liveTotal });
    }
    // After the first step (which creates optimizer state), every step ends with the same live set.
    const after = samples.slice(1);
    expect(new Set(after.map((s) => s.count)).size).toBe(1);
    expect(new Set(after.map((s) => s.bytes)).size).toBe(1);
    expect(memoryReport().live.activations).toBe(0);
    params.forEach((p) => p.dispose());
    state.forEach(([m, v]) => { m.dispose(); v.dispose(); });
  });

  it('peak bytes by category match the arithmetic for a linear classifier', () => {
    const rng = new Rng(3);
    const N = 5, C = 7, V = 11, f = 4; // rows, features, classes, bytes per float32
    const w = param('w', [V, C], rng, backend);
    const x = ops.randn([N, C], rng, { backend, category: 'other' });
    const targets = Int32Array.from({ length: N }, () => rng.int(V));
    const state = new Map<Parameter, [Tensor, Tensor]>();
    const before = memoryReport();
    resetPeaks();
    scope(() => backward(ops.crossEntropy(ops.linear(x, w), targets)));
    adamwStep([w], state, 1);
    const r = memoryReport();
    expect(r.peak.weights - before.live.weights).toBe(0);
    expect(r.peak.gradients - before.live.gradients).toBe(V * C * f);
    expect(r.peak.optimizer - before.live.optimizer).toBe(2 * V * C * f);
    // Activations, in the order the engine allocates them:
    //   forward: logits N*V; CE per-row losses N and logsumexp N (losses freed), the scalar loss 1.
    //   backward: seed 1; CE backward scale N and dlogits N*V  -> peak 2NV + 2N + 2
    //   then the CE node's scope frees scale and its release frees logsumexp; dW = dlogitsᵀ x goes straight into
    //   w.grad (gradients), so no V*C temporary counts as activations.
    const expected = (2 * N * V + 2 * N + 2) * f;
    expect(r.peak.activations - before.live.activations).toBe(expected);
    expect(r.live.activations).toBe(before.live.activations);
    w.dispose();
    x.dispose();
    state.forEach(([m, v]) => { m.dispose(); v.dispose(); });
  });
});
