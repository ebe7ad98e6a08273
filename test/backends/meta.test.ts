// The meta backend: buffers with logical sizes and no memory, no-op kernels; every op's forward and backward, and
// models with LoRA (merge included) and LISA (switches, kept state) allocate and free on meta exactly as on cpu-js
// (float32 and float64) and cpu-native.
import { describe, it, expect } from 'vitest';
import { meta } from '../../src/backends/meta.js';
import type { Backend, DType } from '../../src/backends/backend.js';
import * as ops from '../../src/ops/index.js';
import type { OpName } from '../../src/ops/index.js';
import { Parameter, Tensor } from '../../src/tensor/tensor.js';
import { memoryReport, resetPeaks, type MemoryReport } from '../../src/tensor/memory.js';
import { pooledBytes } from '../../src/tensor/buffer-pool.js';
import { scope } from '../../src/tensor/scope.js';
import { backward } from '../../src/autograd/backward.js';
import { Rng } from '../../src/util/rng.js';
import { createModel, initWeights, lmLoss, parseConfig } from '../../src/models/index.js';
import { AdamW } from '../../src/optim/adamw.js';
import { clipGradNorm } from '../../src/optim/clip.js';
import { LoraFineTune } from '../../src/finetune/lora.js';
import { Lisa } from '../../src/finetune/lisa.js';
import { BACKENDS } from '../backends-under-test.js';
import { makeInputs, type LeafSpec } from '../helpers.js';

describe('meta backend', () => {
  it('allocates empty buffers of the dtype\'s array type, a fresh one each time', () => {
    const a = meta.alloc('float32', 1000);
    expect(a).toBeInstanceOf(Float32Array);
    expect(a.length).toBe(0);
    expect(meta.alloc('float64', 10)).toBeInstanceOf(Float64Array);
    expect(meta.alloc('float32', 1000)).not.toBe(a);
    expect(meta.holdsData).toBe(false);
  });

  it('tensors count their logical bytes (float32 and float64), are never pooled, and read NaN', () => {
    const before = memoryReport();
    const pooled = pooledBytes();
    const t = Tensor.empty([512, 1024], { backend: meta });
    const d = Tensor.empty([3, 5], { backend: meta, dtype: 'float64' });
    expect(memoryReport().live.activations - before.live.activations).toBe(512 * 1024 * 4 + 15 * 8);
    expect(t.storage.bytes).toBe(2 * 2 ** 20);
    expect(t.isDense()).toBe(true);
    expect(t.isShapeOnly).toBe(true);
    t.dispose();
    d.dispose();
    expect(memoryReport().liveTotal).toBe(before.liveTotal);
    expect(pooledBytes()).toBe(pooled);
    const s = ops.sum(ops.ones([4], { backend: meta }));
    expect(Number.isNaN(s.item())).toBe(true);
    expect(() => s.toArray()).toThrow(/shape-only \(meta backend\): it holds no values/);
    const p = Parameter.fromData('w', new Float32Array([1, 2, 3]), [3], { backend: meta });
    expect(p.storage.bytes).toBe(12);
    expect(Parameter.shapeOnly('big', [32000, 4096]).bytes).toBe(4 * 32000 * 4096);
    p.dispose();
  });
});

const ids = Int32Array.from([1, 0, 4, 2, 3, 3]);
const tables = (T: number, hs: number, dtype: DType, backend: Backend) => ops.ropeTables(T, hs, 10000, 3, { dtype, backend });

/** One case per op of the op table (a missing op is a compile error). */
const CASES: Record<OpName, [(xs: Tensor[], dtype: DType, backend: Backend) => Tensor, LeafSpec[]]> = {
  add: [([a, b]) => ops.add(a, b), [{ shape: [2, 3, 4] }, { shape: [3, 1] }]],
  sub: [([a, b]) => ops.sub(a, b), [{ shape: [1, 4] }, { shape: [3, 1] }]],
  mul: [([a, b]) => ops.mul(a, b), [{ shape: [2, 3, 4], transposed: true }, { shape: [2, 1, 4] }]],
  div: [([a, b]) => ops.div(a, b), [{ shape: [3, 4] }, { shape: [4] }]],
  maximum: [([a, b]) => ops.maximum(a, b), [{ shape: [3, 4] }, { shape: [3, 4] }]],
  minimum: [([a, b]) => ops.minimum(a, b), [{ shape: [3, 4] }, { shape: [1, 4] }]],
  affine: [([a]) => ops.affine(a, -1.5, 0.25), [{ shape: [3, 4], transposed: true }]],
  scale: [([a]) => ops.scale(a, 3), [{ shape: [6] }]],
  addScalar: [([a]) => ops.addScalar(a, 3), [{ shape: [6] }]],
  neg: [([a]) => ops.neg(a), [{ shape: [6] }]],
  exp: [([a]) => ops.exp(a), [{ shape: [3, 4], transposed: true }]],
  log: [([a]) => ops.log(a), [{ shape: [3, 4] }]],
  sqrt: [([a]) => ops.sqrt(a), [{ shape: [7] }]],
  rsqrt: [([a]) => ops.rsqrt(a), [{ shape: [7] }]],
  tanh: [([a]) => ops.tanh(a), [{ shape: [3, 5] }]],
  sigmoid: [([a]) => ops.sigmoid(a), [{ shape: [3, 5] }]],
  relu: [([a]) => ops.relu(a), [{ shape: [3, 5] }]],
  square: [([a]) => ops.square(a), [{ shape: [3, 5], transposed: true }]],
  pow: [([a]) => ops.pow(a, 2.5), [{ shape: [6] }]],
  gelu: [([a]) => ops.gelu(a), [{ shape: [4, 6], transposed: true }]],
  silu: [([a]) => ops.silu(a), [{ shape: [4, 6] }]],
  sum: [([a]) => ops.sum(a, [0, 2]), [{ shape: [2, 3, 4] }]],
  mean: [([a]) => ops.mean(a, 1), [{ shape: [2, 3, 4] }]],
  reshape: [([a]) => ops.reshape(a, [4, -1]), [{ shape: [2, 3, 4], transposed: true }]],
  permute: [([a]) => ops.mul(ops.permute(a, [2, 0, 1]), ops.permute(a, [2, 0, 1])), [{ shape: [2, 3, 4] }]],
  transpose: [([a, b]) => ops.add(ops.transpose(a, 0, 1), b), [{ shape: [3, 4] }, { shape: [4, 3] }]],
  slice: [([a]) => ops.slice(a, 1, 1, -1), [{ shape: [3, 5, 2] }]],
  expand: [([a]) => ops.expand(a, [2, 3, 4]), [{ shape: [3, 1] }]],
  contiguous: [([a]) => ops.contiguous(a), [{ shape: [3, 4], transposed: true }]],
  concat: [([a, b]) => ops.concat([a, b], 0), [{ shape: [2, 3], transposed: true }, { shape: [1, 3] }]],
  matmul: [([a, b]) => ops.matmul(a, b, { transA: true }), [{ shape: [4, 3] }, { shape: [2, 4, 2] }]],
  linear: [([x, w, b]) => ops.linear(x, w, b, { layout: 'in_out' }), [{ shape: [2, 3, 4] }, { shape: [4, 5] }, { shape: [5] }]],
  embedding: [([w]) => ops.embedding(w, ids, [2, 3]), [{ shape: [5, 4] }]],
  layerNorm: [([x, w, b]) => ops.layerNorm(x, w, b, 1e-5), [{ shape: [4, 5], transposed: true }, { shape: [5] }, { shape: [5] }]],
  rmsNorm: [([x, w]) => ops.rmsNorm(x, w, 1e-6), [{ shape: [2, 3, 6] }, { shape: [6], requiresGrad: false }]],
  softmax: [([x]) => ops.softmax(x, { causal: true }), [{ shape: [2, 4, 4] }]],
  attention: [([q, k, v]) => ops.attention(q, k, v), [{ shape: [1, 4, 3, 2] }, { shape: [1, 2, 3, 2] }, { shape: [1, 2, 3, 2] }]],
  qkvAttention: [([qkv]) => ops.qkvAttention(qkv, 2), [{ shape: [2, 3, 12] }]],
  rope: [([x], dtype, backend) => { const { cos, sin } = tables(3, 4, dtype, backend); return ops.rope(x, cos, sin, 'half'); }, [{ shape: [2, 2, 3, 4] }]],
  crossEntropy: [([x]) => ops.crossEntropy(x, Int32Array.from([1, -100, 4, -100, 0, 3])), [{ shape: [2, 3, 5] }]],
  dropout: [([x]) => ops.dropout(x, 0.3, new Rng(5)), [{ shape: [4, 5] }]],
  linearCrossEntropy: [([x, w, b]) => ops.linearCrossEntropy(x, w, b, Int32Array.from([1, -100, 4, 0, 3]), { chunkRows: 2 }),
    [{ shape: [5, 4] }, { shape: [6, 4] }, { shape: [6] }]],
};

/** Live and peak bytes (relative to the start) after the leaves, the forward, the backward and the cleanup. */
function trace(name: OpName, dtype: DType, backend: Backend): number[][] {
  const [f, specs] = CASES[name];
  resetPeaks();
  const start = memoryReport();
  const snap = (r: MemoryReport) => [r.liveTotal - start.liveTotal, r.peakTotal - start.liveTotal, r.live.activations - start.live.activations,
    r.live.gradients - start.live.gradients, r.liveStorages - start.liveStorages];
  const out: number[][] = [];
  scope(() => {
    const { leaves, views } = makeInputs(specs, new Rng(1), dtype, backend);
    for (const l of leaves) l.keep();
    out.push(snap(memoryReport()));
    const y = f(views, dtype, backend);
    out.push(snap(memoryReport()));
    backward(ops.sum(y));
    out.push(snap(memoryReport()));
    for (const l of leaves) {
      out.push([l.grad ? l.grad.bytes : -1]);
      l.grad?.dispose();
      l.dispose();
    }
  });
  out.push(snap(memoryReport()));
  return out;
}

describe('every op allocates and frees on meta exactly as on a real backend', () => {
  const real: [string, Backend, DType][] = [...BACKENDS.map(([n, b]): [string, Backend, DType] => [n, b, 'float32']), ['cpu-js float64', BACKENDS[0][1], 'float64']];
  it.each(Object.keys(CASES) as OpName[])('%s', (name) => {
    for (const [label, backend, dtype] of real) {
      expect(trace(name, dtype, meta), `${name} vs ${label}`).toEqual(trace(name, dtype, backend));
    }
  });
});

/** Live and peak bytes through model build, method, forward/backward, AdamW, switches, merge and cleanup. */
function modelTrace(backend: Backend, family: 'gpt2' | 'llama', method: 'lora' | 'lisa-keep', checkpointing = false): number[][] {
  const raw = family === 'gpt2'
    ? { model_type: 'gpt2', vocab_size: 50, n_positions: 16, n_embd: 16, n_layer: 3, n_head: 2 }
    : { model_type: 'llama', vocab_size: 50, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 16 };
  resetPeaks();
  const start = memoryReport();
  const out: number[][] = [];
  const snap = () => {
    const r = memoryReport();
    out.push([r.liveTotal - start.liveTotal, r.peakTotal - start.liveTotal, r.live.optimizer - start.live.optimizer, r.liveStorages - start.liveStorages]);
  };
  const model = createModel(parseConfig(raw), { backend });
  model.gradientCheckpointing = checkpointing;
  initWeights(model, new Rng(0));
  const opt = new AdamW({ lr: 1e-3 });
  const ft = method === 'lora'
    ? new LoraFineTune(model, { rank: 2, alpha: 4, targets: 'all-linear', dropout: 0.1 })
    : new Lisa(model, opt, { gamma: 1, period: 1, stateOnSwitch: 'keep', seed: 2 });
  snap();
  const rng = new Rng(1);
  for (let step = 0; step < 4; step++) {
    ft.beginStep(step);
    const ids = Int32Array.from({ length: 2 * 5 }, () => rng.int(50));
    scope(() => backward(checkpointing ? lmLoss(model, ids, ids, 2, 5, { chunkRows: 3 }) : ops.crossEntropy(model.forward(ids, 2, 5), ids)));
    snap();
    clipGradNorm(ft.trainableParameters(), 1);
    opt.step(ft.trainableParameters());
    for (const p of model.parameters()) p.zeroGrad();
    snap();
  }
  if (ft instanceof LoraFineTune) {
    ft.merge();
    ft.unmerge();
    ft.mergeAndUnload();
    snap();
  }
  opt.dispose();
  model.dispose();
  snap();
  return out;
}

describe('models and methods run on meta unchanged, with the accounting of a real run', () => {
  it.each([['gpt2', 'lora'], ['llama', 'lora'], ['gpt2', 'lisa-keep'], ['llama', 'lisa-keep']] as const)('%s %s', (family, method) => {
    const expected = modelTrace(meta, family, method);
    expect(expected.at(-1)).toEqual([0, expected.at(-1)![1], 0, 0]);
    for (const [label, backend] of BACKENDS) expect(modelTrace(backend, family, method), label).toEqual(expected);
  });
  it.each([['gpt2', 'lora'], ['llama', 'lisa-keep']] as const)('%s %s with gradient checkpointing and the chunked head (lmLoss)', (family, method) => {
    const expected = modelTrace(meta, family, method, true);
    expect(expected.at(-1)).toEqual([0, expected.at(-1)![1], 0, 0]);
    for (const [label, backend] of BACKENDS) expect(modelTrace(backend, family, method, true), label).toEqual(expected);
  });
});
