// The fused, chunked LM head + cross-entropy against the unchunked composition crossEntropy(linear(x, W, b)) on
// every backend (float32): loss, dx, dW and db, with chunks that do and do not divide N, ignored rows (a whole
// ignored chunk), sum and mean, a frozen weight, a tied head (the weight also feeds an embedding).
import { describe, it, expect } from 'vitest';
import * as ops from '../../src/ops/index.js';
import { scope } from '../../src/tensor/scope.js';
import { backward } from '../../src/autograd/backward.js';
import { memoryReport, resetPeaks } from '../../src/tensor/memory.js';
import { ShapeError, ArgumentError, IndexError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import type { Backend } from '../../src/backends/backend.js';
import { BACKENDS } from '../backends-under-test.js';

interface Setup { N: number; C: number; V: number; bias: boolean; targets: number[]; chunkRows?: number; reduction?: 'mean' | 'sum'; frozenW?: boolean; tied?: boolean }

/** Loss and gradients of (x, W, b) through the fused op or the composition. */
function run(s: Setup, backend: Backend, fused: boolean) {
  const rng = new Rng(7);
  const x = ops.randn([s.N, s.C], rng, { backend });
  const w = ops.randn([s.V, s.C], rng, { backend });
  const b = s.bias ? ops.randn([s.V], rng, { backend }) : null;
  for (const t of [x, w, b]) if (t) t.requiresGrad = true;
  if (s.frozenW) w.requiresGrad = false;
  const targets = Int32Array.from(s.targets);
  const ids = Int32Array.from({ length: s.N }, (_, i) => (i * 3) % s.V);
  const loss = scope(() => {
    // A tied head: the hidden states come from an embedding of the same weight, so dW has two contributions.
    const h = s.tied ? ops.add(x, ops.embedding(w, ids, [s.N])) : x;
    const l = fused
      ? ops.linearCrossEntropy(h, w, b, targets, { chunkRows: s.chunkRows, reduction: s.reduction })
      : ops.crossEntropy(ops.linear(h, w, b), targets, { reduction: s.reduction });
    backward(l);
    return l.item();
  });
  const out = { loss, dx: x.grad?.toArray(), dw: w.grad?.toArray() ?? null, db: b?.grad?.toArray() ?? null };
  for (const t of [x, w, b]) t?.dispose();
  for (const t of [x, w, b]) t?.grad?.dispose();
  return out;
}

function close(got: number[] | null | undefined, want: number[] | null | undefined, label: string): void {
  expect(got === null || got === undefined, `${label} presence`).toBe(want === null || want === undefined);
  if (!got || !want) return;
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= 1e-5 + 1e-4 * Math.abs(want[i]))) throw new Error(`${label}[${i}]: fused ${got[i]} vs composed ${want[i]}`);
  }
}

const T = (n: number, V: number, every = 0) => Array.from({ length: n }, (_, i) => (every && i % every === 1 ? -100 : (i * 7 + 3) % V));

const SETUPS: [string, Setup][] = [
  ['chunk 4 over 10 rows (remainder), bias', { N: 10, C: 6, V: 13, bias: true, targets: T(10, 13), chunkRows: 4 }],
  ['chunk 5 divides 10 rows, ignored rows', { N: 10, C: 6, V: 13, bias: false, targets: T(10, 13, 3), chunkRows: 5 }],
  ['a fully ignored chunk, sum', { N: 9, C: 5, V: 11, bias: true, targets: [-100, -100, -100, ...T(6, 11)], chunkRows: 3, reduction: 'sum' }],
  ['one row per chunk', { N: 7, C: 4, V: 9, bias: false, targets: T(7, 9, 2), chunkRows: 1 }],
  ['default chunk (one chunk)', { N: 12, C: 8, V: 17, bias: true, targets: T(12, 17, 4) }],
  ['chunk larger than N', { N: 5, C: 8, V: 17, bias: false, targets: T(5, 17), chunkRows: 64 }],
  ['frozen weight (LoRA-style head)', { N: 8, C: 4, V: 10, bias: true, targets: T(8, 10, 3), chunkRows: 3, frozenW: true }],
  ['tied head', { N: 8, C: 6, V: 12, bias: false, targets: T(8, 12, 5), chunkRows: 3, tied: true }],
  ['every row ignored (mean is NaN, gradients zero)', { N: 4, C: 3, V: 5, bias: true, targets: [-100, -100, -100, -100], chunkRows: 2 }],
];

describe.each(BACKENDS)('linearCrossEntropy vs crossEntropy(linear(...)) on %s (float32)', (_n, backend) => {
  it.each(SETUPS)('%s', (_name, s) => {
    const a = run(s, backend, true);
    const e = run(s, backend, false);
    if (Number.isNaN(e.loss)) expect(a.loss).toBeNaN();
    else expect(Math.abs(a.loss - e.loss)).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(e.loss));
    close(a.dx, e.dx, 'dx');
    close(a.dw, e.dw, 'dW');
    close(a.db, e.db, 'db');
  });

  it('holds no (N, V) logits: peak activations stay far below N*V floats', () => {
    const N = 256;
    const V = 1000;
    const rng = new Rng(1);
    const x = ops.randn([N, 16], rng, { backend });
    const w = ops.randn([V, 16], rng, { backend });
    x.requiresGrad = true;
    w.requiresGrad = true;
    const targets = Int32Array.from({ length: N }, (_, i) => i % V);
    const before = memoryReport().live.activations;
    resetPeaks();
    scope(() => backward(ops.linearCrossEntropy(x, w, null, targets, { chunkRows: 32 })));
    const peak = memoryReport().peak.activations - before;
    // two chunk buffers (logits, dlogits) of 32 x V plus dx, the lse and small scalars; the full logits alone are N*V*4.
    expect(peak).toBeLessThan(N * V * 4 / 2);
    for (const t of [x, w]) { t.grad?.dispose(); t.dispose(); }
  });
});

describe('linearCrossEntropy arguments', () => {
  const [, be] = BACKENDS[0];
  const t = (shape: number[]) => ops.zeros(shape, { backend: be });
  it('typed errors name the op and the tensor', () => {
    expect(() => ops.linearCrossEntropy(t([3, 4]), t([5, 3]), null, Int32Array.from([0, 1, 2]))).toThrow(ShapeError);
    expect(() => ops.linearCrossEntropy(t([3, 4]), t([5, 3]), null, Int32Array.from([0, 1, 2]))).toThrow(/linearCrossEntropy: x \[3, 4\] has 4 features but weight \[5, 3\]/);
    expect(() => ops.linearCrossEntropy(t([3, 4]), t([5, 4]), t([4]), Int32Array.from([0, 1, 2]))).toThrow(/bias \[4\] must be \[5\]/);
    expect(() => ops.linearCrossEntropy(t([3, 4]), t([5, 4]), null, Int32Array.from([0, 5, 2]))).toThrow(IndexError);
    expect(() => ops.linearCrossEntropy(t([3, 4]), t([5, 4]), null, Int32Array.from([0, 1]))).toThrow(/targets' has 2 entries, expected 3/);
    expect(() => ops.linearCrossEntropy(t([3, 4]), t([5, 4]), null, Int32Array.from([0, 1, 2]), { chunkRows: 0 })).toThrow(ArgumentError);
    expect(() => ops.linearCrossEntropy(t([2, 3, 4]), t([5, 4]), null, Int32Array.from([0, 1, 2]))).toThrow(/'x' must have rank 2/);
  });
  it('default chunk: at most 64 MiB of fp32 logits per chunk', () => {
    expect(ops.defaultChunkRows(32000)).toBe(524);
    expect(ops.defaultChunkRows(50257)).toBe(333);
    expect(ops.defaultChunkRows(128256) * 128256 * 4).toBeLessThanOrEqual(64 * 2 ** 20);
    expect(ops.defaultChunkRows(10 ** 9)).toBe(1);
  });
});
