// The addon's GEMM (native/gemm*.cpp) against a float64 JS triple loop, for every implementation it offers
// (built-in blocked driver with its AVX-512, AVX2 and portable micro-kernels, each where the CPU and the LISA_CPU
// cap allow it, OpenBLAS when loaded, naive reference): all four transpose combinations, edge sizes around the
// 6x16 and 8x48 register tiles and the cache blocks, batches with broadcast (stride 0) operands, offsets,
// leading dimensions longer than the rows, alpha/beta, and beta == 0 over a NaN-filled C.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { NativeAddon } from '../../src/backends/cpu-native.js';

type GemmAddon = NativeAddon;

const addonPath = process.env.LISA_NATIVE_PATH ?? fileURLToPath(new URL('../../build/lisa_native.node', import.meta.url));
const haveAddon = existsSync(addonPath);
if (!haveAddon) console.warn(`NOTICE: ${addonPath} not built; skipping test/backends/gemm-native.test.ts`);
const N = haveAddon ? (createRequire(import.meta.url)(addonPath) as GemmAddon) : null;

// Small deterministic RNG (mulberry32).
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  transA: boolean; transB: boolean; M: number; N: number; K: number; alpha: number; beta: number; batch: number;
  aOffset: number; lda: number; aBatchStride: number;
  bOffset: number; ldb: number; bBatchStride: number;
  cOffset: number; ldc: number; cBatchStride: number;
  bias: boolean; // C += bias[j] on every row (GemmArgs.bias)
}

// A case with the given sizes and layout options; array lengths follow from the layout.
function makeCase(r: () => number, transA: boolean, transB: boolean, M: number, Nn: number, K: number,
  opts: { batch?: number; pad?: boolean; offsets?: boolean; broadcast?: 'a' | 'b' | null; alpha?: number; beta?: number; bias?: boolean } = {}): Case {
  const batch = opts.batch ?? 1;
  const pad = () => (opts.pad ? 1 + Math.floor(r() * 5) : 0);
  const off = () => (opts.offsets ? Math.floor(r() * 7) : 0);
  const aRows = transA ? K : M, aCols = transA ? M : K;
  const bRows = transB ? Nn : K, bCols = transB ? K : Nn;
  const lda = aCols + pad(), ldb = bCols + pad(), ldc = Nn + pad();
  const aSize = Math.max(0, (aRows - 1) * lda + aCols), bSize = Math.max(0, (bRows - 1) * ldb + bCols);
  const cSize = (M - 1) * ldc + Nn;
  return {
    transA, transB, M, N: Nn, K, batch,
    alpha: opts.alpha ?? 1, beta: opts.beta ?? 0,
    aOffset: off(), lda, aBatchStride: opts.broadcast === 'a' ? 0 : aSize + off(),
    bOffset: off(), ldb, bBatchStride: opts.broadcast === 'b' ? 0 : bSize + off(),
    cOffset: off(), ldc, cBatchStride: cSize + off(), bias: opts.bias ?? false,
  };
}

function arrays(c: Case, r: () => number, cFill: number | null) {
  const aRows = c.transA ? c.K : c.M, aCols = c.transA ? c.M : c.K;
  const bRows = c.transB ? c.N : c.K, bCols = c.transB ? c.K : c.N;
  const len = (off: number, stride: number, rows: number, cols: number, ld: number) =>
    off + (c.batch - 1) * stride + Math.max(0, (rows - 1) * ld + cols) + 3;
  const fill = (n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
  const a = fill(len(c.aOffset, c.aBatchStride, aRows, aCols, c.lda));
  const b = fill(len(c.bOffset, c.bBatchStride, bRows, bCols, c.ldb));
  const cArr = fill(len(c.cOffset, c.cBatchStride, c.M, c.N, c.ldc));
  if (cFill !== null) cArr.fill(cFill);
  return { a, b, c: cArr, bias: c.bias ? fill(c.N) : undefined };
}

// Expected C in float64, and a per-element error bound: |C - ref| <= tol * (sum_k |alpha a b| + |beta c|).
function reference(c: Case, a: Float32Array, b: Float32Array, c0: Float32Array, bias?: Float32Array) {
  const want = Float64Array.from(c0), mag = new Float64Array(c0.length);
  for (let t = 0; t < c.batch; t++) {
    const A = c.aOffset + t * c.aBatchStride, B = c.bOffset + t * c.bBatchStride, C = c.cOffset + t * c.cBatchStride;
    for (let i = 0; i < c.M; i++) {
      for (let j = 0; j < c.N; j++) {
        let s = 0, m = 0;
        for (let k = 0; k < c.K; k++) {
          const av = c.transA ? a[A + k * c.lda + i] : a[A + i * c.lda + k];
          const bv = c.transB ? b[B + j * c.ldb + k] : b[B + k * c.ldb + j];
          s += av * bv;
          m += Math.abs(av * bv);
        }
        const idx = C + i * c.ldc + j;
        const old = c0[idx];
        want[idx] = c.alpha * s + (c.beta === 0 ? 0 : c.beta * old) + (bias?.[j] ?? 0);
        mag[idx] = Math.abs(c.alpha) * m + (c.beta === 0 ? 0 : Math.abs(c.beta * old)) + Math.abs(bias?.[j] ?? 0);
      }
    }
  }
  return { want, mag };
}

function check(impl: string, c: Case, seed: number, cFill: number | null = null): void {
  const r = rng(seed);
  const { a, b, c: cArr, bias } = arrays(c, r, cFill);
  const before = Float32Array.from(cArr);
  const { want, mag } = reference(c, a, b, before, bias);
  N!.gemm(c.transA, c.transB, c.M, c.N, c.K, c.alpha, c.beta, c.batch, a, c.aOffset, c.lda, c.aBatchStride,
    b, c.bOffset, c.ldb, c.bBatchStride, cArr, c.cOffset, c.ldc, c.cBatchStride, false, 0, 0, -1, bias);
  const tol = 1e-5 + 3e-8 * c.K;
  let bad = 0, first = '';
  for (let i = 0; i < cArr.length; i++) {
    // Elements outside the C matrices (padding, gaps) must be untouched, NaN included.
    const ok = Object.is(want[i], before[i]) && mag[i] === 0
      ? Object.is(cArr[i], before[i])
      : Math.abs(cArr[i] - want[i]) <= tol * mag[i] + 1e-30;
    if (!ok && bad++ === 0) first = `index ${i}: got ${cArr[i]}, want ${want[i]} (magnitude ${mag[i]})`;
  }
  expect(bad, `${impl} ${JSON.stringify(c)}: ${bad} wrong elements, first at ${first}`).toBe(0);
}

const SIZES = [1, 2, 5, 6, 7, 8, 9, 15, 16, 17, 31, 47, 48, 49, 64, 100];
const TRANS: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

describe.skipIf(!haveAddon)('native gemm', { timeout: 120_000 }, () => {
  const info = N?.gemmInfo();
  type Impl = 'avx512' | 'avx2' | 'portable' | 'reference' | 'openblas';
  // Every built-in kernel the ISA level allows ('builtin' is the widest of them), the reference and OpenBLAS.
  const isa = info?.isa ?? 'portable';
  const impls: Impl[] = [...(isa === 'avx512' ? ['avx512' as const] : []), ...(isa !== 'portable' ? ['avx2' as const] : []),
    'portable', 'reference', ...(info?.openblasAvailable ? ['openblas' as const] : [])];
  const savedThreads = N?.getNumThreads() ?? 1;
  afterAll(() => {
    N?.setGemmImpl('auto');
    N?.setNumThreads(savedThreads);
  });

  it('reports its implementation', () => {
    const i = N!.gemmInfo();
    expect(['openblas', 'avx512', 'avx2', 'portable']).toContain(i.impl);
    if (process.env.LISA_CPU) expect(i.isa).toBe(process.env.LISA_CPU);
    if (i.isa !== 'avx512') expect(() => N!.setGemmImpl('avx512')).toThrow(/not available/);
    expect(i.threads).toBeGreaterThanOrEqual(1);
    if (process.env.LISA_NO_OPENBLAS === '1') expect(i.openblasAvailable).toBe(false);
    if (!i.openblasAvailable) expect(() => N!.setGemmImpl('openblas')).toThrow(/not available/);
    expect(() => N!.setGemmImpl('fast' as 'auto')).toThrow();
  });

  for (const impl of impls) {
    describe(impl, () => {
      it('small and edge sizes, all transposes', () => {
        N!.setGemmImpl(impl);
        const r = rng(1);
        let seed = 100;
        for (const [ta, tb] of TRANS) {
          for (let n = 0; n < 40; n++) {
            const pick = () => SIZES[Math.floor(r() * SIZES.length)];
            check(impl, makeCase(r, ta, tb, pick(), pick(), pick()), seed++);
          }
          for (const [M, Nn, K] of [[1, 1, 1], [1, 37, 9], [23, 1, 9], [13, 17, 1], [6, 16, 8], [12, 32, 300]])
            check(impl, makeCase(r, ta, tb, M, Nn, K), seed++);
        }
      });

      it('sizes across the cache blocks (MC, KC, NC) on 1, 2 and 3 threads', () => {
        N!.setGemmImpl(impl);
        const r = rng(2);
        let seed = 200;
        for (const threads of [1, 2, 3]) {
          N!.setNumThreads(threads);
          for (const [ta, tb] of TRANS) {
            check(impl, makeCase(r, ta, tb, 301, 45, 530, { pad: true }), seed++);
            check(impl, makeCase(r, ta, tb, 7, 3200, 20, { offsets: true }), seed++);
            check(impl, makeCase(r, ta, tb, 150, 163, 257, { alpha: -0.5, beta: 0.75 }), seed++);
          }
        }
        N!.setNumThreads(savedThreads);
      });

      it('a depth-split product (K >= 8192 and >= 16 max(M, N)): right, and the same bits on 1, 2 and 3 threads (built-in)', () => {
        N!.setGemmImpl(impl);
        const r = rng(3);
        let seed = 300;
        for (const [ta, tb] of TRANS) {
          for (const [M, Nn, K, opts] of [[9, 50, 9001, { pad: true, offsets: true, beta: 0.5 }], [17, 3, 8192, {}]] as const) {
            const c = makeCase(r, ta, tb, M, Nn, K, opts);
            const outs = [1, 2, 3].map((threads) => {
              N!.setNumThreads(threads);
              check(impl, c, seed); // same seed: the same operands on every thread count
              const { a, b, c: out } = arrays(c, rng(seed), null);
              for (const bf16Dot of [false, true]) {
                N!.gemm(ta, tb, M, Nn, K, c.alpha, c.beta, c.batch, a, c.aOffset, c.lda, c.aBatchStride,
                  b, c.bOffset, c.ldb, c.bBatchStride, out, c.cOffset, c.ldc, c.cBatchStride, bf16Dot);
              }
              return out;
            });
            if (impl !== 'openblas') { // OpenBLAS's own sum order follows its thread count (bf16 dot never uses it)
              expect(outs[1]).toEqual(outs[0]);
              expect(outs[2]).toEqual(outs[0]);
            }
            seed++;
          }
        }
        N!.setNumThreads(savedThreads);
      });

      it('a bias added to every row, with alpha, beta, batches, K == 0 and a NaN-filled C at beta 0', () => {
        N!.setGemmImpl(impl);
        const r = rng(4);
        let seed = 400;
        for (const threads of [1, 2]) {
          N!.setNumThreads(threads);
          for (const [ta, tb] of TRANS) {
            check(impl, makeCase(r, ta, tb, 37, 100, 50, { bias: true, pad: true, offsets: true }), seed++, NaN);
            check(impl, makeCase(r, ta, tb, 150, 64, 257, { bias: true, alpha: -0.5, beta: 0.75 }), seed++);
            check(impl, makeCase(r, ta, tb, 13, 20, 30, { bias: true, batch: 3, beta: 1 }), seed++);
            check(impl, makeCase(r, ta, tb, 4, 7, 0, { bias: true }), seed++, NaN);  // K == 0: C = bias
            check(impl, makeCase(r, ta, tb, 9, 40, 9000, { bias: true, beta: 0.5 }), seed++);  // depth-split
          }
        }
        N!.setNumThreads(savedThreads);
      });

      it('lda/ldb/ldc longer than the rows, offsets, alpha and beta', () => {
        N!.setGemmImpl(impl);
        const r = rng(3);
        let seed = 300;
        for (const [ta, tb] of TRANS) {
          for (const [alpha, beta] of [[1, 1], [2.5, -1], [-0.25, 0.5], [1, 0], [0.5, 0]]) {
            check(impl, makeCase(r, ta, tb, 19, 35, 21, { pad: true, offsets: true, alpha, beta }), seed++);
            check(impl, makeCase(r, ta, tb, 1, 18, 40, { pad: true, offsets: true, alpha, beta }), seed++);
          }
        }
      });

      it('beta == 0 never reads C (NaN-filled C)', () => {
        N!.setGemmImpl(impl);
        const r = rng(4);
        let seed = 400;
        for (const [ta, tb] of TRANS) {
          check(impl, makeCase(r, ta, tb, 20, 33, 17, { pad: true }), seed++, NaN);
          check(impl, makeCase(r, ta, tb, 3, 5, 1, { batch: 3 }), seed++, NaN);
          check(impl, makeCase(r, ta, tb, 4, 7, 0), seed++, NaN);  // K == 0: C = 0
          check(impl, makeCase(r, ta, tb, 9, 18, 70, { alpha: 0 }), seed++, NaN);  // alpha == 0: C = 0
        }
      });

      it('batches, with broadcast (stride 0) operands, on 1 and 2 threads', () => {
        N!.setGemmImpl(impl);
        const r = rng(5);
        let seed = 500;
        for (const threads of [1, 2]) {
          N!.setNumThreads(threads);
          for (const [ta, tb] of TRANS) {
            for (const broadcast of [null, 'a', 'b'] as const) {
              check(impl, makeCase(r, ta, tb, 13, 24, 11, { batch: 5, broadcast, offsets: true, pad: true }), seed++);
              check(impl, makeCase(r, ta, tb, 64, 70, 40, { batch: 3, broadcast, beta: 0.5 }), seed++);
              // Big enough to be split over threads within each item (tasks from different items interleave).
              check(impl, makeCase(r, ta, tb, 128, 130, 100, { batch: 3, broadcast, offsets: true }), seed++);
              check(impl, makeCase(r, ta, tb, 200, 40, 150, { batch: 2, broadcast, pad: true }), seed++);
            }
            check(impl, makeCase(r, ta, tb, 2, 3, 4, { batch: 1 }), seed++);
          }
        }
        N!.setNumThreads(savedThreads);
      });

      it('a triangle hint (zeros of op(A) skipped) gives the bits of the full product, fp32 and bf16 dot', () => {
        N!.setGemmImpl(impl);
        const r = rng(77);
        let seed = 900;
        for (const threads of [1, 2]) {
          N!.setNumThreads(threads);
          for (const [tri, code] of [['lower', 1], ['upper', 2]] as const) {
            for (const [ta, tb] of TRANS) {
              for (const [M, Nn, K, off, opts] of [
                [37, 53, 40, 0, {}], [64, 64, 64, 0, { batch: 3 }], [100, 20, 450, 3, { pad: true, offsets: true }],
                [250, 64, 260, 0, { beta: 0.5 }], [300, 30, 280, 0, {}], [9, 50, 700, 300, { alpha: 0.25, batch: 2 }],
              ] as const) {
                for (const bf16Dot of [false, true]) {
                  const c = makeCase(r, ta, tb, M, Nn, K, opts);
                  const { a, b, c: c0 } = arrays(c, rng(seed++), c.beta === 0 ? NaN : null);
                  // Zero op(A)[i][k] outside the triangle: k > i + off (lower) or k < i - off (upper).
                  for (let t = 0; t < c.batch; t++) {
                    for (let i = 0; i < M; i++) {
                      for (let k = 0; k < K; k++) {
                        if (tri === 'lower' ? k <= i + off : k >= i - off) continue;
                        a[c.aOffset + t * c.aBatchStride + (ta ? k * c.lda + i : i * c.lda + k)] = 0;
                      }
                    }
                  }
                  const run = (code: number) => {
                    const out = Float32Array.from(c0);
                    N!.gemm(ta, tb, M, Nn, K, c.alpha, c.beta, c.batch, a, c.aOffset, c.lda, c.aBatchStride,
                      b, c.bOffset, c.ldb, c.bBatchStride, out, c.cOffset, c.ldc, c.cBatchStride, bf16Dot, code, off);
                    return out;
                  };
                  const full = run(0), skipped = run(code);
                  // Equal as numbers (a skipped 0 * b may leave a zero's sign different).
                  const bad = full.findIndex((v, i) => !(v === skipped[i] || (Number.isNaN(v) && Number.isNaN(skipped[i]!))));
                  expect(bad, `${impl} ${tri} ${JSON.stringify({ ta, tb, M, Nn, K, off, bf16Dot, threads })}`).toBe(-1);
                }
              }
            }
          }
        }
        N!.setNumThreads(savedThreads);
      });

      it('a cLowerOffset hint: C[i][j] for j <= i + off has the full product\'s bits, past it 0 or the product', () => {
        N!.setGemmImpl(impl);
        const r = rng(78);
        let seed = 1900, skipped = 0;
        for (const threads of [1, 2]) {
          N!.setNumThreads(threads);
          for (const [ta, tb] of TRANS) {
            for (const [M, Nn, K, off, opts] of [
              [37, 53, 40, 0, {}], [256, 256, 64, 0, { batch: 3, pad: true }], [100, 130, 450, 17, { offsets: true }],
              [64, 200, 30, 100, { alpha: 0.5 }],
            ] as const) {
              for (const bf16Dot of [false, true]) {
                const c = makeCase(r, ta, tb, M, Nn, K, opts);
                const { a, b, c: c0 } = arrays(c, rng(seed++), NaN);
                const run = (hint: number) => {
                  const out = Float32Array.from(c0);
                  N!.gemm(ta, tb, M, Nn, K, c.alpha, c.beta, c.batch, a, c.aOffset, c.lda, c.aBatchStride,
                    b, c.bOffset, c.ldb, c.bBatchStride, out, c.cOffset, c.ldc, c.cBatchStride, bf16Dot, 0, 0, hint);
                  return out;
                };
                const full = run(-1), hinted = run(off);
                let bad = '';
                for (let t = 0; t < c.batch; t++) {
                  for (let i = 0; i < M; i++) {
                    for (let j = 0; j < Nn; j++) {
                      const at = c.cOffset + t * c.cBatchStride + i * c.ldc + j;
                      const [want, got] = [full[at]!, hinted[at]!];
                      if (j <= i + off || got !== 0) {
                        if (got !== want && !bad) bad = `C[${t}][${i}][${j}] = ${got}, want ${want}`;
                      } else if (want !== 0) skipped++;
                    }
                  }
                }
                // Outside the C matrices nothing is written.
                const touched = full.findIndex((v, at) => Number.isNaN(v) && !Number.isNaN(hinted[at]));
                expect([bad, touched], `${impl} ${JSON.stringify({ ta, tb, M, Nn, K, off, bf16Dot, threads })}`).toEqual(['', -1]);
              }
            }
          }
        }
        // The built-in kernels skip some tiles (the reference computes everything).
        if (impl === 'reference') expect(skipped).toBe(0);
        else expect(skipped).toBeGreaterThan(0);
        N!.setNumThreads(savedThreads);
      });
    });
  }

  it('the thread pool survives repeated resizing between products', () => {
    N!.setGemmImpl('builtin');
    const r = rng(6);
    for (let n = 0; n < 30; n++) {
      N!.setNumThreads(1 + (n % 4));
      check('builtin', makeCase(r, n % 2 === 0, n % 3 === 0, 40, 130, 50), 600 + n);
    }
    N!.setNumThreads(savedThreads);
    expect(N!.getNumThreads()).toBe(savedThreads);
    expect(() => N!.setNumThreads(0)).toThrow();
  });

  it('throws a JS error (no crash) for an operand past the end of its array', () => {
    const a = new Float32Array(12), b = new Float32Array(12), c = new Float32Array(9);
    expect(() => N!.gemm(false, false, 3, 3, 4, 1, 0, 1, a, 1, 4, 0, b, 0, 3, 0, c, 0, 3, 0)).toThrow(/operand a/);
    expect(() => N!.gemm(false, false, 3, 3, 4, 1, 0, 2, a, 0, 4, 0, b, 0, 3, 0, c, 0, 3, 9)).toThrow(/operand c/);
    expect(() => N!.gemm(false, false, 3, 3, 4, 1, 0, 1, a, 0, 3, 0, b, 0, 3, 0, c, 0, 3, 0)).toThrow(/leading/);
    expect(() => N!.gemm(false, false, 3, 3, 4, 1, 0, 1, a, 0, 4, 0, b, 0, 3, 0, new Float64Array(9) as never, 0, 3, 0))
      .toThrow(/Float32Array/);
    const c3 = new Float32Array(9);
    expect(() => N!.gemm(false, false, 3, 3, 3, 1, 0, 1, a, 0, 3, 0, b, 0, 3, 0, c3, 0, 3, 0, false, 3, 0)).toThrow(/triangle/);
    expect(() => N!.gemm(false, false, 3, 3, 3, 1, 0, 1, a, 0, 3, 0, b, 0, 3, 0, c3, 0, 3, 0, false, 1, -1)).toThrow(/triangleOffset/);
    expect(() => N!.gemm(false, false, 3, 3, 3, 1, 0, 1, a, 0, 3, 0, b, 0, 3, 0, c3, 0, 3, 0, false, 0, 0, -2)).toThrow(/cLowerOffset/);
    expect(() => N!.gemm(false, false, 3, 3, 3, 1, 0, 1, a, 0, 3, 0, b, 0, 3, 0, c3, 0, 3, 0, false, 0, 0, -1, new Float32Array(2)))
      .toThrow(/bias has 2 elements/);
  });
});
