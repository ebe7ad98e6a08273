// The fused attention kernel (Backend.attention / attentionBackward): cpu-native against the cpu-js float64
// reference at shapes that reach every branch of the blocking (several row blocks per head, split backward
// parts, grouped heads, a KV cache, packed q|k|v layouts, odd head sizes, missing gradients), bits independent of
// the thread count, argument checks, and the memory it keeps for backward: O(T) per head instead of O(T Tk).
import { afterAll, describe, expect, it } from 'vitest';
import type { AttentionArgs, AttnHeads, Backend } from '../../src/backends/backend.js';
import { cpuJs as ref } from '../../src/backends/cpu-js/index.js';
import { loadNativeBackend, nativeAddon, nativeUnavailableReason } from '../../src/backends/cpu-native.js';
import { meta } from '../../src/backends/meta.js';
import * as ops from '../../src/ops/index.js';
import { backward } from '../../src/autograd/backward.js';
import { memoryReport } from '../../src/tensor/memory.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';

const native = loadNativeBackend();
if (!native) console.warn(`NOTICE: skipping test/backends/attention.test.ts: ${nativeUnavailableReason()}`);
const nb = native as Backend;

interface Case {
  B: number; nkv: number; group: number; T: number; Tk: number; hs: number; causal: boolean;
  /** q, k, v packed in one (B, T, 3, nh, hs)-like buffer, GPT-2's c_attn layout (group 1, Tk = T only). */
  packed?: boolean;
  /** Which gradients are wanted (default all). */
  want?: [boolean, boolean, boolean];
}

/** The buffers and layouts of one case: dense (B, nkv, rows, hs) operands, or GPT-2's packed q|k|v. */
function layouts(c: Case): { q: AttnHeads; k: AttnHeads; v: AttnHeads; out: AttnHeads; g: AttnHeads;
  dq: AttnHeads; dk: AttnHeads; dv: AttnHeads } {
  const rng = new Rng(c.B * 1000 + c.T * 10 + c.hs);
  const randn = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const GT = c.group * c.T;
  if (c.packed) {
    const C = c.nkv * c.hs, n = c.B * c.T * 3 * C;
    const x = randn(n), gx = new Float32Array(n).fill(NaN);
    const part = (buf: Float32Array, i: number): AttnHeads => ({ buf, offset: i * C, ld: 3 * C, hStride: c.hs, bStride: c.T * 3 * C });
    const merged = (buf: Float32Array): AttnHeads => ({ buf, offset: 0, ld: C, hStride: c.hs, bStride: c.T * C });
    return { q: part(x, 0), k: part(x, 1), v: part(x, 2), out: merged(new Float32Array(c.B * c.T * C).fill(NaN)),
      g: merged(randn(c.B * c.T * C)), dq: part(gx, 0), dk: part(gx, 1), dv: part(gx, 2) };
  }
  // Dense operands, with 3 spare floats at the front so that offsets are exercised.
  const dense = (rows: number, fill?: number): AttnHeads => {
    const buf = fill === undefined ? randn(3 + c.B * c.nkv * rows * c.hs) : new Float32Array(3 + c.B * c.nkv * rows * c.hs).fill(fill);
    return { buf, offset: 3, ld: c.hs, hStride: rows * c.hs, bStride: c.nkv * rows * c.hs };
  };
  return { q: dense(GT), k: dense(c.Tk), v: dense(c.Tk), out: dense(GT, NaN), g: dense(GT),
    dq: dense(GT, NaN), dk: dense(c.Tk, NaN), dv: dense(c.Tk, NaN) };
}

/** Copies of the output-side buffers, so that two backends write their own. */
const fresh = (h: AttnHeads): AttnHeads => ({ ...h, buf: (h.buf as Float32Array).slice() });

/** Runs forward and backward of case c on backend be: out, stats and the wanted gradients. */
function run(be: Backend, c: Case) {
  const L = layouts(c);
  const GT = c.group * c.T;
  const a: AttentionArgs = { B: c.B, nkv: c.nkv, GT, T: c.T, Tk: c.Tk, hs: c.hs, scale: 1 / Math.sqrt(c.hs),
    causal: c.causal, q: L.q, k: L.k, v: L.v, stats: new Float32Array(c.B * c.nkv * GT * 2) };
  const out = fresh(L.out);
  be.attention(a, out);
  const [wq, wk, wv] = c.want ?? [true, true, true];
  // The packed gradients share one buffer: give each backend its own copy of it.
  const gbuf = (L.dq.buf as Float32Array).slice();
  const grad = (h: AttnHeads, w: boolean) => (w ? { ...h, buf: c.packed ? gbuf : (h.buf as Float32Array).slice() } : null);
  const dq = grad(L.dq, wq), dk = grad(L.dk, wk), dv = grad(L.dv, wv);
  be.attentionBackward(a, L.g, dq, dk, dv);
  return { out: out.buf, stats: a.stats, dq: dq?.buf, dk: dk?.buf, dv: dv?.buf };
}

function expectClose(label: string, actual: ArrayLike<number> | undefined, expected: ArrayLike<number> | undefined,
  atol: number): void {
  if (!actual || !expected) {
    expect(actual, label).toBe(expected);
    return;
  }
  expect(actual.length, label).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue; // padding neither backend writes
    if (!(Math.abs(a - e) <= atol + 1e-4 * Math.abs(e))) {
      throw new Error(`${label}: index ${i} of ${actual.length}: native ${a}, cpu-js ${e}`);
    }
  }
}

const CASES: Case[] = [
  { B: 1, nkv: 2, group: 1, T: 5, Tk: 5, hs: 3, causal: true },
  { B: 2, nkv: 3, group: 1, T: 17, Tk: 17, hs: 20, causal: false },
  { B: 1, nkv: 2, group: 3, T: 33, Tk: 33, hs: 16, causal: true }, // GQA: rows wrap every T
  { B: 1, nkv: 1, group: 2, T: 9, Tk: 40, hs: 8, causal: true }, // a KV cache: 31 earlier keys
  { B: 1, nkv: 1, group: 1, T: 300, Tk: 300, hs: 64, causal: true }, // 2 row blocks, so 2 backward parts
  { B: 1, nkv: 2, group: 1, T: 700, Tk: 700, hs: 24, causal: true }, // 93-row blocks, 4 parts per head
  { B: 2, nkv: 2, group: 2, T: 130, Tk: 130, hs: 64, causal: true, want: [false, true, false] },
  { B: 1, nkv: 3, group: 1, T: 64, Tk: 64, hs: 48, causal: true, want: [true, false, false] },
  { B: 2, nkv: 4, group: 1, T: 40, Tk: 40, hs: 16, causal: true, packed: true }, // GPT-2's c_attn layout
];

describe.skipIf(!native)('fused attention, cpu-native vs the cpu-js reference', () => {
  const threads = native ? nativeAddon().getNumThreads() : 1;
  afterAll(() => { if (native) nativeAddon().setNumThreads(threads); });

  for (const c of CASES) {
    const name = `B${c.B} nkv${c.nkv} group${c.group} T${c.T} Tk${c.Tk} hs${c.hs}${c.causal ? ' causal' : ''}${c.packed ? ' packed' : ''}${c.want ? ` want ${c.want}` : ''}`;
    it(name, () => {
      const r = run(ref, c);
      const n = run(nb, c);
      expectClose('out', n.out, r.out, 1e-5);
      expectClose('stats', n.stats, r.stats, 1e-5);
      // Gradients sum over up to Tk (or group * T) terms.
      const atol = 2e-6 * Math.max(c.Tk, c.group * c.T);
      expectClose('dq', n.dq, r.dq, atol);
      expectClose('dk', n.dk, r.dk, atol);
      expectClose('dv', n.dv, r.dv, atol);
    });
  }

  it('gives the same bits on 1, 2 and 3 threads', () => {
    const c: Case = { B: 1, nkv: 2, group: 2, T: 300, Tk: 300, hs: 64, causal: true };
    const results = [1, 2, 3].map((t) => {
      nativeAddon().setNumThreads(t);
      return run(nb, c);
    });
    for (const r of results.slice(1)) {
      for (const k of ['out', 'stats', 'dq', 'dk', 'dv'] as const) expect(r[k], k).toEqual(results[0]![k]);
    }
  });

  it('rejects layouts past the end of an array and bad dims, naming the argument', () => {
    const c: Case = { B: 1, nkv: 1, group: 1, T: 4, Tk: 4, hs: 8, causal: true };
    const L = layouts(c);
    const a: AttentionArgs = { B: 1, nkv: 1, GT: 4, T: 4, Tk: 4, hs: 8, scale: 1, causal: true, q: L.q, k: L.k, v: L.v,
      stats: new Float32Array(8) };
    expect(() => nb.attention({ ...a, k: { ...L.k, offset: 10 } }, L.out)).toThrow(/argument 2 has 35 elements, needs 42/);
    expect(() => nb.attention({ ...a, q: { ...L.q, ld: 4 } }, L.out)).toThrow(/argument 1: row stride 4 is smaller than hs 8/);
    expect(() => nb.attention({ ...a, stats: new Float32Array(7) }, L.out)).toThrow(/argument 5 has 7 elements, needs 8/);
    expect(() => nb.attention({ ...a, T: 3 }, L.out)).toThrow(/GT .* must be a multiple of T/);
    expect(() => nb.attention({ ...a, Tk: 2, T: 4 }, L.out)).toThrow(/causal attention needs Tk >= T/);
    expect(() => nb.attention({ ...a, hs: 2.5 }, L.out)).toThrow(/meta\[5\] = 2.5.* must be an integer/);
    expect(() => nb.attentionBackward(a, L.g, { ...L.dq, offset: 100 }, null, null)).toThrow(/argument 6 has 35 elements, needs 132/);
  });
});

describe('attention keeps O(T) per head for backward, not the (T, Tk) probabilities', () => {
  it('Llama-2-7B attention at seq 4096: 32 heads keep 1 MiB of statistics (the probabilities would be 2 GiB)', () => {
    const [B, nh, T, hs] = [1, 32, 4096, 128];
    const leaf = () => {
      const t = Tensor.empty([B, nh, T, hs], { backend: meta });
      t.requiresGrad = true;
      return t;
    };
    const [q, k, v] = [leaf(), leaf(), leaf()];
    const before = memoryReport().liveTotal;
    const out = ops.attention(q, k, v);
    // The output and the statistics: 2 floats per query row.
    expect(memoryReport().liveTotal - before).toBe(B * nh * T * hs * 4 + B * nh * T * 2 * 4);
    backward(ops.sum(out));
    expect(q.grad?.shape).toEqual([B, nh, T, hs]);
    for (const t of [q, k, v, out]) t.dispose();
  });
});
