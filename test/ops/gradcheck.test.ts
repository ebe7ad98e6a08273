// Every op's gradient against central finite differences, in float64 on cpu-js, including broadcasting and
// non-contiguous (transposed) inputs.
import { describe, it, expect } from 'vitest';
import { cpuJs } from '../../src/backends/cpu-js/index.js';
import * as ops from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { gradcheck, type LeafSpec } from '../helpers.js';

type Case = [string, (xs: Tensor[]) => Tensor, LeafSpec[], { rtol?: number; atol?: number }?];

const ids = (n: number, V: number, seed: number) => {
  const r = new Rng(seed);
  return Int32Array.from({ length: n }, () => r.int(V));
};
const tables = (T: number, hs: number) => ops.ropeTables(T, hs, 10000, 3, { dtype: 'float64', backend: cpuJs });

const cases: Case[] = [
  ['add broadcast', ([a, b]) => ops.add(a, b), [{ shape: [2, 3, 4] }, { shape: [3, 1] }]],
  ['add transposed', ([a, b]) => ops.add(a, b), [{ shape: [3, 4], transposed: true }, { shape: [4] }]],
  ['sub broadcast', ([a, b]) => ops.sub(a, b), [{ shape: [1, 4] }, { shape: [3, 1] }]],
  ['mul broadcast', ([a, b]) => ops.mul(a, b), [{ shape: [2, 3, 4] }, { shape: [2, 1, 4] }]],
  ['mul same input', ([a]) => ops.mul(a, a), [{ shape: [5] }]],
  ['div broadcast', ([a, b]) => ops.div(a, b), [{ shape: [3, 4] }, { shape: [4], positive: true }]],
  ['maximum', ([a, b]) => ops.maximum(a, b), [{ shape: [3, 4] }, { shape: [3, 4] }]],
  ['minimum broadcast', ([a, b]) => ops.minimum(a, b), [{ shape: [3, 4] }, { shape: [1, 4] }]],
  ['affine', ([a]) => ops.affine(a, -1.5, 0.25), [{ shape: [3, 4], transposed: true }]],
  ['neg', ([a]) => ops.neg(a), [{ shape: [6] }]],
  ['exp', ([a]) => ops.exp(a), [{ shape: [3, 4], transposed: true }]],
  ['log', ([a]) => ops.log(a), [{ shape: [3, 4], positive: true }]],
  ['sqrt', ([a]) => ops.sqrt(a), [{ shape: [7], positive: true }]],
  ['rsqrt', ([a]) => ops.rsqrt(a), [{ shape: [7], positive: true }]],
  ['tanh', ([a]) => ops.tanh(a), [{ shape: [3, 5] }]],
  ['sigmoid', ([a]) => ops.sigmoid(a), [{ shape: [3, 5] }]],
  ['relu', ([a]) => ops.relu(a), [{ shape: [3, 5] }]],
  ['square', ([a]) => ops.square(a), [{ shape: [3, 5], transposed: true }]],
  ['pow', ([a]) => ops.pow(a, 2.5), [{ shape: [6], positive: true }]],
  ['gelu', ([a]) => ops.gelu(a), [{ shape: [4, 6], transposed: true }]],
  ['silu', ([a]) => ops.silu(a), [{ shape: [4, 6] }]],
  ['sum all', ([a]) => ops.sum(a), [{ shape: [3, 4], transposed: true }]],
  ['sum dims', ([a]) => ops.sum(a, [0, 2]), [{ shape: [2, 3, 4] }]],
  ['sum keepdim', ([a]) => ops.sum(a, -1, true), [{ shape: [2, 3, 4] }]],
  ['mean', ([a]) => ops.mean(a, 1), [{ shape: [2, 3, 4] }]],
  ['reshape', ([a]) => ops.reshape(a, [4, -1]), [{ shape: [2, 3, 4], transposed: true }]],
  ['permute', ([a]) => ops.mul(ops.permute(a, [2, 0, 1]), ops.permute(a, [2, 0, 1])), [{ shape: [2, 3, 4] }]],
  ['transpose', ([a, b]) => ops.add(ops.transpose(a, 0, 1), b), [{ shape: [3, 4] }, { shape: [4, 3] }]],
  ['slice', ([a]) => ops.slice(a, 1, 1, -1), [{ shape: [3, 5, 2] }]],
  ['expand', ([a]) => ops.expand(a, [2, 3, 4]), [{ shape: [3, 1] }]],
  ['contiguous', ([a]) => ops.contiguous(a), [{ shape: [3, 4], transposed: true }]],
  ['concat', ([a, b]) => ops.concat([a, b], 1), [{ shape: [2, 3] }, { shape: [2, 2] }]],
  ['concat transposed', ([a, b]) => ops.concat([a, b], 0), [{ shape: [2, 3], transposed: true }, { shape: [1, 3] }]],
  ['matmul', ([a, b]) => ops.matmul(a, b), [{ shape: [3, 4] }, { shape: [4, 5] }]],
  ['matmul transA', ([a, b]) => ops.matmul(a, b, { transA: true }), [{ shape: [4, 3] }, { shape: [4, 5] }]],
  ['matmul transB', ([a, b]) => ops.matmul(a, b, { transB: true }), [{ shape: [3, 4] }, { shape: [5, 4] }]],
  ['matmul transA transB', ([a, b]) => ops.matmul(a, b, { transA: true, transB: true }), [{ shape: [4, 3] }, { shape: [5, 4] }]],
  ['matmul batched', ([a, b]) => ops.matmul(a, b), [{ shape: [2, 3, 4] }, { shape: [2, 4, 2] }]],
  ['matmul broadcast b', ([a, b]) => ops.matmul(a, b, { transB: true }), [{ shape: [2, 3, 4] }, { shape: [5, 4] }]],
  ['matmul broadcast a, transA', ([a, b]) => ops.matmul(a, b, { transA: true }), [{ shape: [4, 3] }, { shape: [2, 4, 2] }]],
  ['matmul non-contiguous', ([a, b]) => ops.matmul(a, b), [{ shape: [3, 4], transposed: true }, { shape: [4, 2], transposed: true }]],
  ['linear', ([x, w, b]) => ops.linear(x, w, b), [{ shape: [2, 3, 4] }, { shape: [5, 4] }, { shape: [5] }]],
  ['linear no bias', ([x, w]) => ops.linear(x, w), [{ shape: [3, 4], transposed: true }, { shape: [2, 4] }]],
  ['linear conv1d', ([x, w, b]) => ops.linear(x, w, b, { layout: 'in_out' }), [{ shape: [3, 4] }, { shape: [4, 5] }, { shape: [5] }]],
  ['linear frozen weight', ([x, w]) => ops.linear(x, w), [{ shape: [3, 4] }, { shape: [2, 4], requiresGrad: false }]],
  ['embedding', ([w]) => ops.embedding(w, ids(6, 5, 3), [2, 3]), [{ shape: [5, 4] }]],
  ['layerNorm', ([x, w, b]) => ops.layerNorm(x, w, b, 1e-5), [{ shape: [2, 3, 6] }, { shape: [6] }, { shape: [6] }]],
  ['layerNorm transposed', ([x, w]) => ops.layerNorm(x, w, null), [{ shape: [4, 5], transposed: true }, { shape: [5] }]],
  ['rmsNorm', ([x, w]) => ops.rmsNorm(x, w, 1e-6), [{ shape: [2, 3, 6] }, { shape: [6] }]],
  ['softmax', ([x]) => ops.softmax(x), [{ shape: [3, 5], transposed: true }]],
  ['softmax causal', ([x]) => ops.softmax(x, { causal: true }), [{ shape: [2, 4, 4] }]],
  ['attention causal', ([q, k, v]) => ops.attention(q, k, v), [{ shape: [2, 2, 4, 3] }, { shape: [2, 2, 4, 3] }, { shape: [2, 2, 4, 3] }]],
  ['attention GQA', ([q, k, v]) => ops.attention(q, k, v), [{ shape: [1, 4, 3, 2] }, { shape: [1, 2, 3, 2] }, { shape: [1, 2, 3, 2] }]],
  ['attention KV longer', ([q, k, v]) => ops.attention(q, k, v), [{ shape: [1, 2, 2, 2] }, { shape: [1, 1, 5, 2] }, { shape: [1, 1, 5, 2] }]],
  ['attention non-causal', ([q, k, v]) => ops.attention(q, k, v, { causal: false }), [{ shape: [1, 2, 3, 2] }, { shape: [1, 2, 4, 2] }, { shape: [1, 2, 4, 2] }]],
  ['qkvAttention', ([qkv]) => ops.qkvAttention(qkv, 2), [{ shape: [2, 4, 12] }]],
  ['qkvAttention non-causal', ([qkv]) => ops.qkvAttention(qkv, 3, { causal: false, scale: 0.6 }), [{ shape: [1, 3, 9] }]],
  ['attention transposed q', ([q, k, v]) => ops.attention(q, k, v), [{ shape: [1, 2, 3, 3], transposed: true }, { shape: [1, 2, 3, 3] }, { shape: [1, 2, 3, 3] }]],
  ['rope half', ([x]) => { const { cos, sin } = tables(3, 4); return ops.rope(x, cos, sin, 'half'); }, [{ shape: [2, 2, 3, 4] }]],
  ['rope interleaved', ([x]) => { const { cos, sin } = tables(3, 6); return ops.rope(x, cos, sin, 'interleaved'); }, [{ shape: [2, 3, 6] }]],
  ['crossEntropy', ([x]) => ops.crossEntropy(x, Int32Array.from([1, 0, 4, 2])), [{ shape: [4, 5] }]],
  ['crossEntropy ignore', ([x]) => ops.crossEntropy(x, Int32Array.from([1, -100, 4, -100, 0, 3]), { ignoreIndex: -100 }), [{ shape: [2, 3, 5] }]],
  ['crossEntropy sum', ([x]) => ops.crossEntropy(x, Int32Array.from([1, 7, 2]), { reduction: 'sum', ignoreIndex: 7 }), [{ shape: [3, 4], transposed: true }]],
  ['dropout', ([x]) => ops.dropout(x, 0.3, new Rng(5)), [{ shape: [4, 5] }]],
  ['linearCrossEntropy chunks of 2 over 5 rows, bias', ([x, w, b]) => ops.linearCrossEntropy(x, w, b, Int32Array.from([1, 0, 4, -100, 5]), { chunkRows: 2 }),
    [{ shape: [5, 4] }, { shape: [6, 4] }, { shape: [6] }]],
  ['linearCrossEntropy sum, chunks dividing N, an ignored chunk', ([x, w]) => ops.linearCrossEntropy(x, w, null, Int32Array.from([-100, -100, 2, 0, 3, 1]), { chunkRows: 2, reduction: 'sum' }),
    [{ shape: [6, 3] }, { shape: [4, 3] }]],
  ['linearCrossEntropy transposed x, one row per chunk', ([x, w]) => ops.linearCrossEntropy(x, w, null, Int32Array.from([2, 6, 1]), { chunkRows: 1 }),
    [{ shape: [3, 4], transposed: true }, { shape: [7, 4] }]],
];

describe('gradients match central finite differences (float64, cpu-js)', () => {
  for (const [name, f, specs, tol] of cases) {
    it(name, () => {
      expect(() => gradcheck(f, specs, cpuJs, tol)).not.toThrow();
    });
  }

  it('covers every op in the op table', () => {
    const names = cases.map(([n]) => n.split(' ')[0]);
    const missing = Object.keys(ops.OPS).filter((op) => !names.includes(op) && !['scale', 'addScalar'].includes(op));
    expect(missing).toEqual([]);
  });
});
