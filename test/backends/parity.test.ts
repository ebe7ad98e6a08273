// Backend parity: every kernel of cpu-native (with each of its kernel tables, AVX-512, AVX2 and portable) against the
// cpu-js reference on seeded random inputs, at odd sizes, single elements and long rows (> 1024 columns).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, BinaryOp, UnaryOp } from '../../src/backends/backend.js';
import { BINARY_OPS, UNARY_OPS } from '../../src/backends/backend.js';
import { cpuJs as ref } from '../../src/backends/cpu-js/index.js';
import { loadNativeBackend, nativeAddon, nativeUnavailableReason } from '../../src/backends/cpu-native.js';
import { Rng } from '../../src/util/rng.js';

const native = loadNativeBackend();
if (!native) {
  console.warn(`NOTICE: skipping test/backends/parity.test.ts: cpu-native backend unavailable: ${nativeUnavailableReason()}`);
}
const nb = native as Backend;
const kinfo = native ? nativeAddon().kernelInfo() : null;
const IMPLS: ('avx512' | 'avx2' | 'portable')[] = !kinfo ? []
  : [...(kinfo.avx512 ? ['avx512' as const] : []), ...(kinfo.avx2 ? ['avx2' as const] : []), 'portable'];

// Tolerances. Both backends round each result to float32 once (ulp 6e-8). EXACT: data movement and ops that are
// correctly rounded on both sides. ROUND: a few float32 roundings in cpu-native vs one in cpu-js (float64 math).
// TRANS: exp/tanh/log-based ops (the AVX2 polynomials are within ~2 ulp) and cancellations such as g - dot.
const EXACT = { rtol: 0, atol: 0 };
const ROUND = { rtol: 1e-6, atol: 1e-7 };
const TRANS = { rtol: 1e-5, atol: 1e-6 };

let seed = 1;
const rng = () => new Rng(seed++);
/** Normal(shift, scale) float32 values. */
function randn(n: number, scale = 1, shift = 0): Float32Array {
  const r = rng();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = shift + scale * r.normal();
  return out;
}
function randInt(n: number, hi: number): Int32Array {
  const r = rng();
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(hi - 1, Math.floor(r.uniform() * hi));
  return out;
}
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const rowMajor = (s: readonly number[]) => {
  const st = new Array<number>(s.length);
  let k = 1;
  for (let d = s.length - 1; d >= 0; d--) { st[d] = k; k *= s[d]!; }
  return st;
};

function expectClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>,
  tol: { rtol: number; atol: number }): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let worst = -1, worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Object.is(a, e) || a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const err = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (!(err <= 0) && (worst < 0 || err > worstErr || Number.isNaN(err))) { worst = i; worstErr = err; }
  }
  if (worst >= 0) {
    throw new Error(`${label}: index ${worst} of ${actual.length}: native ${actual[worst]}, cpu-js ${expected[worst]}`
      + ` (rtol ${tol.rtol}, atol ${tol.atol})`);
  }
}
const copy = (x: Float32Array) => Float32Array.from(x);

describe.skipIf(!native)('cpu-native parity with cpu-js', () => {
  it('reports float32 only and allocates zeroed Float32Arrays', () => {
    expect(nb.name).toBe('cpu-native');
    expect(nb.supports('float32')).toBe(true);
    expect(nb.supports('float64')).toBe(false);
    const a = nb.alloc('float32', 5);
    expect(a).toBeInstanceOf(Float32Array);
    expect([...a]).toEqual([0, 0, 0, 0, 0]);
    expect(() => nb.alloc('float64', 2)).toThrow(/float32/);
  });

  it('native bindings reject wrong array types and short buffers instead of touching memory', () => {
    const N = nativeAddon();
    const bad = new Float64Array(4) as unknown as Float32Array;
    expect(() => N.unary(0, bad, new Float32Array(4), 4, 0, 0)).toThrow(/Float32Array/);
    expect(() => N.unary(0, new Float32Array(3), new Float32Array(4), 4, 0, 0)).toThrow(RangeError);
    expect(() => N.embedding(new Float32Array(6), Int32Array.from([3]), 1, 2, new Float32Array(2))).toThrow(/id 3/);
    const meta = Float64Array.from([4, 2, 1]); // shape [4], strides [2] and [1]: src needs 7 elements
    expect(() => N.copyStrided(new Float32Array(6), 0, new Float32Array(4), 0, 1, meta)).toThrow(RangeError);
  });

  it('gemm matches (native float32 accumulation vs float64: atol scales with K)', () => {
    for (const [tA, tB, M, N, K, batch] of [[false, false, 1, 1, 1, 1], [false, true, 7, 5, 33, 2],
      [true, false, 13, 17, 9, 1], [true, true, 3, 70, 300, 3]] as const) {
      const lda = (tA ? M : K) + 2, ldb = (tB ? K : N) + 1, ldc = N + 3;
      const aRows = tA ? K : M, bRows = tB ? N : K;
      const aBS = aRows * lda, bBS = batch > 1 ? 0 : bRows * ldb, cBS = M * ldc;
      const a = randn(3 + batch * aBS), b = randn(1 + bRows * ldb), c0 = randn(5 + batch * cBS);
      const args = { transA: tA, transB: tB, M, N, K, alpha: 0.7, beta: 0.3, batch,
        a, aOffset: 3, lda, aBatchStride: aBS, b, bOffset: 1, ldb, bBatchStride: bBS, cOffset: 5, ldc, cBatchStride: cBS };
      const cn = copy(c0), cr = copy(c0);
      nb.gemm({ ...args, c: cn });
      ref.gemm({ ...args, c: cr });
      expectClose(`gemm ${tA} ${tB} ${M}x${N}x${K}`, cn, cr, { rtol: 1e-5, atol: 2e-7 * K });
    }
  });

  for (const impl of IMPLS) {
    describe(`kernel table '${impl}'`, () => {
      const initial = native ? nativeAddon().kernelInfo().impl : 'portable';
      beforeAll(() => { expect(nativeAddon().setKernelImpl(impl)).toBe(true); });
      afterAll(() => { nativeAddon().setKernelImpl(initial); });

      it('copyStrided: permutes, broadcasts, flips, offsets, rank 0 and empty shapes', () => {
        const cases: { shape: number[]; perm?: number[]; bcast?: number; flip?: boolean }[] = [
          { shape: [] }, { shape: [1] }, { shape: [70001] }, { shape: [3, 5], perm: [1, 0] },
          { shape: [2, 3, 4, 5], perm: [0, 2, 1, 3] }, { shape: [4, 1, 3, 7], perm: [3, 1, 0, 2] },
          { shape: [33, 1030], perm: [1, 0] }, { shape: [5, 6, 7], bcast: 1 }, { shape: [9, 2], flip: true },
          { shape: [4, 0, 3] }, { shape: [2, 3, 64, 64], perm: [0, 2, 1, 3] },
        ];
        for (const { shape, perm, bcast, flip } of cases) {
          const r = shape.length;
          // src: a contiguous tensor of the permuted shape, read through permuted strides (a transpose view).
          const p = perm ?? shape.map((_, d) => d);
          const srcStrides = new Array<number>(r);
          const base = rowMajor(p.map((d) => shape[d]!));
          p.forEach((d, i) => { srcStrides[d] = base[i]!; });
          let srcOffset = 2;
          if (bcast !== undefined) srcStrides[bcast] = 0;
          if (flip) { srcOffset += (shape[0]! - 1) * srcStrides[0]!; srcStrides[0] = -srcStrides[0]!; }
          const src = randn(prod(shape) + 4);
          const dst0 = randn(prod(shape) + 3);
          const dn = copy(dst0), dr = copy(dst0);
          const dstStrides = rowMajor(shape);
          nb.copyStrided(src, srcOffset, srcStrides, dn, 1, dstStrides, shape);
          ref.copyStrided(src, srcOffset, srcStrides, dr, 1, dstStrides, shape);
          expectClose(`copyStrided [${shape}]`, dn, dr, EXACT);
        }
      });

      it('fill', () => {
        for (const n of [0, 1, 7, 300001]) {
          const a = new Float32Array(n), b = new Float32Array(n);
          nb.fill(a, -1.25e-3);
          ref.fill(b, -1.25e-3);
          expectClose(`fill ${n}`, a, b, EXACT);
        }
      });

      // Inputs per unary op: the domain where the op is defined, with wide ranges for the exp-based ones.
      const unaryInput = (op: UnaryOp, n: number): Float32Array => {
        if (op === 'log' || op === 'sqrt' || op === 'rsqrt' || op === 'pow') return randn(n, 2).map((v) => Math.abs(v) + 1e-3);
        if (op === 'exp') return randn(n, 30);
        if (op === 'tanh' || op === 'sigmoid' || op === 'gelu' || op === 'silu') {
          const x = randn(n, 4);
          const special = [0, -0, 1e-6, -1e-4, 0.6, -0.65, 9, -9, 30, -30, 100, -100, 1e20, -1e20];
          special.forEach((v, i) => { if (i < n) x[i] = v; });
          return x;
        }
        return randn(n, 3);
      };
      const unaryTol = (op: UnaryOp) => (['exp', 'log', 'tanh', 'sigmoid', 'gelu', 'silu', 'pow'].includes(op) ? TRANS
        : op === 'affine' || op === 'rsqrt' ? ROUND : EXACT);

      it('unary: every op, sizes 1..70003, in place too', () => {
        for (const op of UNARY_OPS) {
          const params: [number, number][] = op === 'pow' ? [[2, 0], [0.5, 0], [1, 0], [3, 0], [-1.5, 0]]
            : op === 'affine' ? [[1.7, -0.3], [-0.1, 2]] : [[0, 0]];
          for (const n of [1, 7, 33, 1025, 70003]) {
            const x = unaryInput(op, n);
            for (const [alpha, beta] of params) {
              const on = new Float32Array(n), or = new Float32Array(n);
              nb.unary(op, x, on, n, alpha, beta);
              ref.unary(op, x, or, n, alpha, beta);
              expectClose(`unary ${op}(${alpha},${beta}) n=${n}`, on, or, unaryTol(op));
              const inplace = copy(x);
              nb.unary(op, inplace, inplace, n, alpha, beta);
              expectClose(`unary ${op} in place n=${n}`, inplace, on, EXACT);
            }
          }
        }
      });

      // Broadcast patterns: [label, shape, a's shape, b's shape] with numpy-style size-1 dims; a may be transposed.
      const patterns: [string, number[], number[], number[], boolean?][] = [
        ['scalar', [1], [1], [1]], ['same 7', [7], [7], [7]], ['same long', [70001], [70001], [70001]],
        ['row vector', [37, 1031], [37, 1031], [1, 1031]], ['row vector small', [300, 5], [300, 5], [1, 5]],
        ['scalar b', [33, 65], [33, 65], [1, 1]], ['scalar a', [40000], [1], [40000]],
        ['column', [13, 9], [13, 9], [13, 1]], ['outer', [6, 11], [6, 1], [1, 11]],
        ['3d mixed', [2, 3, 5], [1, 3, 1], [2, 1, 5]], ['4d', [2, 3, 4, 5], [2, 3, 4, 5], [2, 1, 4, 1]],
        ['transposed a', [17, 19], [17, 19], [17, 19], true], ['rank 0', [], [], []], ['empty', [3, 0], [3, 0], [1, 0]],
      ];
      const bcastStrides = (full: number[], s: number[]) => {
        const st = rowMajor(s);
        return s.map((d, i) => (d === 1 && full[i] !== 1 ? 0 : st[i]!));
      };
      const binaryTol = (op: BinaryOp) => (op === 'geluGrad' || op === 'siluGrad' ? TRANS : op === 'div' ? ROUND : EXACT);

      it('binary: every op over broadcast patterns, offsets, and out aliasing a', () => {
        for (const op of BINARY_OPS) {
          for (const [label, shape, as, bs, transA] of patterns) {
            const n = prod(shape);
            const a = randn(prod(as) + 3, op === 'geluGrad' || op === 'siluGrad' ? 4 : 1);
            const b = op === 'div' ? randn(prod(bs) + 2).map((v) => (v >= 0 ? v + 0.5 : v - 0.5)) : randn(prod(bs) + 2);
            let aStrides = bcastStrides(shape, as);
            if (transA) aStrides = [1, shape[0]!]; // a stored (19, 17), read transposed
            const on = new Float32Array(n), or = new Float32Array(n);
            nb.binary(op, a, 3, aStrides, b, 2, bcastStrides(shape, bs), on, shape);
            ref.binary(op, a, 3, aStrides, b, 2, bcastStrides(shape, bs), or, shape);
            expectClose(`binary ${op} ${label}`, on, or, binaryTol(op));
            if (prod(as) === n && !transA && n > 0) { // out aliases a: allowed when a is contiguous, full shape
              const aa = a.subarray(3, 3 + n), alias = copy(aa);
              nb.binary(op, alias, 0, rowMajor(shape), b, 2, bcastStrides(shape, bs), alias, shape);
              expectClose(`binary ${op} ${label} aliased`, alias, on, EXACT);
            }
          }
        }
      });

      it('binary: maximum/minimum NaN and signed-zero rules match', () => {
        const a = Float32Array.from([NaN, 1, NaN, 0, -0, 2]), b = Float32Array.from([1, NaN, NaN, -0, 0, 2]);
        for (const op of ['maximum', 'minimum'] as const) {
          const on = new Float32Array(6), or = new Float32Array(6);
          nb.binary(op, a, 0, [1], b, 0, [1], on, [6]);
          ref.binary(op, a, 0, [1], b, 0, [1], or, [6]);
          for (let i = 0; i < 6; i++) expect(Object.is(on[i], or[i]), `${op}[${i}]`).toBe(true);
        }
      });

      it('sumReduce: every keep mask of rank 3, row/column fast paths, size-1 and empty dims', () => {
        const cases: [number[], boolean[]][] = [
          [[], []], [[1], [false]], [[70001], [false]], [[7, 1025], [true, false]], [[7, 1025], [false, true]],
          [[3, 40000], [false, true]], [[20000, 3], [true, false]], [[2, 1, 3], [false, true, true]],
          [[4, 0, 3], [true, false, true]], [[4, 0, 3], [false, true, true]], [[5, 4], [true, true]],
          [[2, 3, 4, 5], [true, false, true, false]], [[2, 3, 4, 5], [false, true, false, true]],
        ];
        for (let m = 0; m < 8; m++) cases.push([[3, 4, 5], [!!(m & 4), !!(m & 2), !!(m & 1)]]);
        for (const [shape, keep] of cases) {
          const x = randn(prod(shape), 1, 0.5);
          const outN = prod(shape.filter((_, d) => keep[d]));
          const on = new Float32Array(outN), or = new Float32Array(outN);
          nb.sumReduce(x, shape, keep, on);
          ref.sumReduce(x, shape, keep, or);
          // Both sum in float64 (possibly in a different order), then round once; column sums (a bias gradient)
          // add the rows in the same order on both sides, so their bits agree.
          const columnSums = shape.length === 2 && !keep[0] && keep[1];
          expectClose(`sumReduce [${shape}] keep [${keep}]`, on, or, columnSums ? EXACT : ROUND);
        }
      });

      it('sumSquares (float64 on both sides)', () => {
        for (const n of [0, 1, 7, 1025, 300007]) {
          const x = randn(n + 2);
          const sn = nb.sumSquares(x, n), sr = ref.sumSquares(x, n);
          expect(Math.abs(sn - sr)).toBeLessThanOrEqual(1e-12 * Math.max(1, sr));
        }
      });

      it('softmax: plain and causal (T == cols and a longer key axis), wide-ranged rows, masked entries exactly 0', () => {
        const cases: [number, number, number][] = [[1, 1, 0], [3, 7, 0], [5, 1500, 0], [64, 33, 0], [600, 100, 0],
          [2 * 9, 9, 9], [3 * 5, 8, 5], [1, 1, 1], [4 * 40, 40, 40], [2 * 1030, 1030, 1030]];
        for (const [rows, cols, causalT] of cases) {
          const x = randn(rows * cols, 6);
          const on = randn(rows * cols), or = randn(rows * cols);
          nb.softmax(x, on, rows, cols, causalT);
          ref.softmax(x, or, rows, cols, causalT);
          // Probabilities: relative error from a float32 exp (within 2 ulp) and the float32 scaling.
          expectClose(`softmax ${rows}x${cols} causal ${causalT}`, on, or, { rtol: 1e-5, atol: 1e-9 });
          const leak = or.findIndex((v, i) => v === 0 && on[i] !== 0);
          expect(leak, `softmax ${rows}x${cols}: masked entry not 0`).toBe(-1);
        }
      });

      it('softmaxBackward', () => {
        for (const [rows, cols] of [[1, 1], [3, 7], [5, 1500], [600, 100]] as const) {
          const y = new Float32Array(rows * cols);
          ref.softmax(randn(rows * cols, 3), y, rows, cols, 0);
          const g = randn(rows * cols);
          const dn = new Float32Array(rows * cols), dr = new Float32Array(rows * cols);
          nb.softmaxBackward(y, g, dn, rows, cols);
          ref.softmaxBackward(y, g, dr, rows, cols);
          // y*(g - dot): the float32 subtraction may cancel, so the error is relative to y*|g|, not to the result.
          expectClose(`softmaxBackward ${rows}x${cols}`, dn, dr, { rtol: 1e-5, atol: 1e-7 });
        }
      });

      it('crossEntropy forward and backward, with ignored rows and a 50k vocabulary', () => {
        for (const [rows, V] of [[1, 1], [5, 3], [17, 1029], [4, 50257], [300, 64]] as const) {
          const logits = randn(rows * V, 4);
          const targets = randInt(rows, V);
          if (rows > 2) { targets[1] = -100; targets[rows - 1] = -100; }
          const ln = new Float32Array(rows), lr = new Float32Array(rows);
          const sn = new Float32Array(rows), sr = new Float32Array(rows);
          nb.crossEntropy(logits, targets, rows, V, -100, ln, sn);
          ref.crossEntropy(logits, targets, rows, V, -100, lr, sr);
          // lse = max + log(sum of float32 exps): about 1e-7 absolute; loss = lse - logit inherits it.
          expectClose(`crossEntropy lse ${rows}x${V}`, sn, sr, { rtol: 1e-6, atol: 1e-6 });
          expectClose(`crossEntropy loss ${rows}x${V}`, ln, lr, { rtol: 1e-5, atol: 1e-6 });
          const scale = randn(rows, 0.1, 0.5);
          const dn = randn(rows * V), dr = randn(rows * V);
          nb.crossEntropyBackward(logits, sr, targets, rows, V, -100, scale, dn);
          ref.crossEntropyBackward(logits, sr, targets, rows, V, -100, scale, dr);
          expectClose(`crossEntropyBackward ${rows}x${V}`, dn, dr, { rtol: 1e-5, atol: 1e-9 });
        }
      });

      const normShapes: [number, number][] = [[1, 1], [3, 7], [5, 1536], [300, 64], [2, 4099]];

      it('layerNorm forward (with and without bias) and backward (every dx/dw/db combination, accumulating)', () => {
        for (const [rows, C] of normShapes) {
          const x = randn(rows * C, 2, 3), w = randn(C, 0.5, 1), b = randn(C);
          for (const bias of [b, null]) {
            const yn = new Float32Array(rows * C), yr = new Float32Array(rows * C);
            const mn = new Float32Array(rows), mr = new Float32Array(rows);
            const rn = new Float32Array(rows), rr = new Float32Array(rows);
            nb.layerNorm(x, w, bias, rows, C, 1e-5, yn, mn, rn);
            ref.layerNorm(x, w, bias, rows, C, 1e-5, yr, mr, rr);
            expectClose(`layerNorm mean ${rows}x${C}`, mn, mr, ROUND);
            expectClose(`layerNorm rstd ${rows}x${C}`, rn, rr, ROUND);
            // y = (x - mean)*rstd*w + b takes a few float32 roundings in cpu-native.
            expectClose(`layerNorm y ${rows}x${C}`, yn, yr, { rtol: 1e-5, atol: 1e-6 });
          }
          const mean = new Float32Array(rows), rstd = new Float32Array(rows);
          ref.layerNorm(x, w, b, rows, C, 1e-5, new Float32Array(rows * C), mean, rstd);
          const gy = randn(rows * C);
          const dw0 = randn(C), db0 = randn(C);
          for (let mask = 1; mask < 8; mask++) {
            const [dxn, dxr] = mask & 1 ? [new Float32Array(rows * C), new Float32Array(rows * C)] : [null, null];
            const [dwn, dwr] = mask & 2 ? [copy(dw0), copy(dw0)] : [null, null];
            const [dbn, dbr] = mask & 4 ? [copy(db0), copy(db0)] : [null, null];
            nb.layerNormBackward(x, w, mean, rstd, gy, rows, C, dxn, dwn, dbn);
            ref.layerNormBackward(x, w, mean, rstd, gy, rows, C, dxr, dwr, dbr);
            // dx = rstd*(dxhat - mean(dxhat) - xhat*mean(dxhat*xhat)) cancels: error relative to rstd*|dxhat|.
            if (dxn && dxr) expectClose(`layerNormBackward dx ${rows}x${C}`, dxn, dxr, { rtol: 1e-5, atol: 2e-6 });
            // dw, db: float64 sums over rows on both sides.
            if (dwn && dwr) expectClose(`layerNormBackward dw ${rows}x${C}`, dwn, dwr, { rtol: 1e-6, atol: 1e-6 });
            if (dbn && dbr) expectClose(`layerNormBackward db ${rows}x${C}`, dbn, dbr, ROUND);
          }
        }
      });

      it('rmsNorm forward and backward (every dx/dw combination, accumulating)', () => {
        for (const [rows, C] of normShapes) {
          const x = randn(rows * C, 2, 0.5), w = randn(C, 0.5, 1);
          const yn = new Float32Array(rows * C), yr = new Float32Array(rows * C);
          const rn = new Float32Array(rows), rr = new Float32Array(rows);
          nb.rmsNorm(x, w, rows, C, 1e-6, yn, rn);
          ref.rmsNorm(x, w, rows, C, 1e-6, yr, rr);
          expectClose(`rmsNorm rstd ${rows}x${C}`, rn, rr, ROUND);
          expectClose(`rmsNorm y ${rows}x${C}`, yn, yr, { rtol: 1e-6, atol: 1e-7 });
          const gy = randn(rows * C), dw0 = randn(C);
          for (let mask = 1; mask < 4; mask++) {
            const [dxn, dxr] = mask & 1 ? [new Float32Array(rows * C), new Float32Array(rows * C)] : [null, null];
            const [dwn, dwr] = mask & 2 ? [copy(dw0), copy(dw0)] : [null, null];
            nb.rmsNormBackward(x, w, rr, gy, rows, C, dxn, dwn);
            ref.rmsNormBackward(x, w, rr, gy, rows, C, dxr, dwr);
            if (dxn && dxr) expectClose(`rmsNormBackward dx ${rows}x${C}`, dxn, dxr, { rtol: 1e-5, atol: 2e-6 });
            if (dwn && dwr) expectClose(`rmsNormBackward dw ${rows}x${C}`, dwn, dwr, { rtol: 1e-6, atol: 1e-6 });
          }
        }
      });

      it('rope: both layouts, forward and inverse, in place too', () => {
        for (const [outer, T, hs] of [[1, 1, 2], [3, 5, 8], [2, 7, 64], [4, 33, 128], [12, 40, 64]] as const) {
          const half = hs / 2;
          const cos = new Float32Array(T * half), sin = new Float32Array(T * half);
          for (let t = 0; t < T; t++) {
            for (let i = 0; i < half; i++) {
              const ang = t * Math.pow(10000, -i / half);
              cos[t * half + i] = Math.cos(ang);
              sin[t * half + i] = Math.sin(ang);
            }
          }
          const x = randn(outer * T * hs);
          for (const halfSplit of [true, false]) {
            for (const inverse of [false, true]) {
              const on = new Float32Array(x.length), or = new Float32Array(x.length);
              nb.rope(x, cos, sin, outer, T, hs, halfSplit, inverse, on);
              ref.rope(x, cos, sin, outer, T, hs, halfSplit, inverse, or);
              const label = `rope ${outer}x${T}x${hs} half ${halfSplit} inverse ${inverse}`;
              // x1*c - x2*s in float32 (two roundings and a possible cancellation) vs float64.
              expectClose(label, on, or, { rtol: 1e-6, atol: 2e-7 });
              const inplace = copy(x);
              nb.rope(inplace, cos, sin, outer, T, hs, halfSplit, inverse, inplace);
              expectClose(`${label} in place`, inplace, on, EXACT);
            }
          }
        }
      });

      it('embedding gather and scatter-add backward with repeated ids (same float32 order: exact)', () => {
        for (const [n, V, C] of [[1, 1, 1], [7, 3, 5], [64, 10, 1030], [2000, 50, 300]] as const) {
          const weight = randn(V * C), ids = randInt(n, V);
          const on = new Float32Array(n * C), or = new Float32Array(n * C);
          nb.embedding(weight, ids, n, C, on);
          ref.embedding(weight, ids, n, C, or);
          expectClose(`embedding ${n}x${C}`, on, or, EXACT);
          const g = randn(n * C), dw0 = randn(V * C);
          const dn = copy(dw0), dr = copy(dw0);
          nb.embeddingBackward(ids, g, n, C, dn);
          ref.embeddingBackward(ids, g, n, C, dr);
          expectClose(`embeddingBackward ${n}x${C}`, dn, dr, EXACT);
        }
      });

      it('adamw: several steps, with and without weight decay', () => {
        for (const n of [1, 7, 1025, 100003]) {
          for (const wd of [0, 0.1]) {
            const p0 = randn(n, 0.5), pn = copy(p0), pr = copy(p0);
            const mn = new Float32Array(n), mr = new Float32Array(n);
            const vn = new Float32Array(n), vr = new Float32Array(n);
            for (let step = 1; step <= 3; step++) {
              const g = randn(n, step === 2 ? 1e-3 : 1);
              nb.adamw(pn, g, mn, vn, n, 1e-3, 0.9, 0.999, 1e-8, wd, step);
              ref.adamw(pr, g, mr, vr, n, 1e-3, 0.9, 0.999, 1e-8, wd, step);
            }
            // cpu-native does torch's float32 arithmetic, cpu-js float64: a few ulp on m and v, but m = b1*m +
            // (1-b1)*g can cancel, so its error is relative to the terms (|m| ~ 0.3 here): atol 5e-8. p is rounded to float32 at
            // every step on both sides, from values that differ slightly: up to ~1 ulp per step (3 ulp ~ 4e-7).
            expectClose(`adamw m n=${n} wd=${wd}`, mn, mr, { rtol: 1e-5, atol: 5e-8 });
            expectClose(`adamw v n=${n} wd=${wd}`, vn, vr, { rtol: 1e-5, atol: 1e-12 });
            expectClose(`adamw p n=${n} wd=${wd}`, pn, pr, { rtol: 4e-7, atol: 1e-8 });
          }
        }
      });

      it('adamwMany: one fused call over tensors of many sizes, with a folded clip, equals adamw per tensor', () => {
        const sizes = [1, 7, 1025, 32768, 32769, 100003];
        const wds = sizes.map((_, i) => (i % 2 ? 0.1 : 0));
        for (const gradScale of [1, 0.37]) {
          const p0 = sizes.map((n) => randn(n, 0.5));
          const many = p0.map((p) => ({ p: copy(p), m: new Float32Array(p.length), v: new Float32Array(p.length) }));
          const one = p0.map((p) => ({ p: copy(p), m: new Float32Array(p.length), v: new Float32Array(p.length) }));
          const refs = p0.map((p) => ({ p: copy(p), m: new Float32Array(p.length), v: new Float32Array(p.length) }));
          for (let step = 1; step <= 3; step++) {
            const gs = sizes.map((n) => randn(n, step === 2 ? 1e-3 : 1));
            nb.adamwMany(many.map((t, i) => ({ ...t, g: gs[i]!, n: sizes[i]!, weightDecay: wds[i]!, step })), 1e-3, 0.9, 0.999, 1e-8, gradScale);
            ref.adamwMany(refs.map((t, i) => ({ ...t, g: gs[i]!, n: sizes[i]!, weightDecay: wds[i]!, step })), 1e-3, 0.9, 0.999, 1e-8, gradScale);
            // The unfused path: clip in place (as clipGradNorm), then adamw tensor by tensor.
            for (const [i, t] of one.entries()) {
              const g = copy(gs[i]!);
              if (gradScale !== 1) nb.unary('affine', g, g, g.length, gradScale, 0);
              nb.adamw(t.p, g, t.m, t.v, sizes[i]!, 1e-3, 0.9, 0.999, 1e-8, wds[i]!, step);
            }
          }
          for (const [i, n] of sizes.entries()) {
            for (const k of ['p', 'm', 'v'] as const) expectClose(`adamwMany ${k} n=${n} scale=${gradScale} vs adamw`, many[i]![k], one[i]![k], EXACT);
            expectClose(`adamwMany m n=${n} scale=${gradScale}`, many[i]!.m, refs[i]!.m, { rtol: 1e-5, atol: 5e-8 });
            expectClose(`adamwMany v n=${n} scale=${gradScale}`, many[i]!.v, refs[i]!.v, { rtol: 1e-5, atol: 1e-12 });
            expectClose(`adamwMany p n=${n} scale=${gradScale}`, many[i]!.p, refs[i]!.p, { rtol: 4e-7, atol: 1e-8 });
          }
        }
      });
    });
  }
});

// The AVX-512 table redoes the AVX2 table's exp-based kernels sixteen lanes wide with the same polynomials and
// operation order: elementwise results must be the AVX2 bits; row sums (float64, lanes grouped differently) close.
describe.skipIf(!kinfo?.avx512 || !kinfo.avx2)('kernel tables avx512 vs avx2', () => {
  const initial = kinfo?.impl ?? 'portable';
  afterAll(() => { nativeAddon().setKernelImpl(initial); });
  const under = <T>(impl: 'avx512' | 'avx2', f: () => T): T => {
    expect(nativeAddon().setKernelImpl(impl)).toBe(true);
    return f();
  };
  // Wide-ranged inputs, special values included (overflow, underflow, the GELU clamp, NaN, signed zeros).
  const x = Float32Array.from([...randn(70003, 6), 100, -100, 88.8, -104.5, 25, -25, NaN, 0, -0, Infinity, -Infinity]);
  const n = x.length;

  it('unary exp, sigmoid, gelu, silu and binary geluGrad, siluGrad (unit and broadcast strides): same bits', () => {
    for (const op of ['exp', 'sigmoid', 'gelu', 'silu', 'tanh'] as UnaryOp[]) {
      const [a, b] = (['avx512', 'avx2'] as const).map((impl) => under(impl, () => {
        const out = new Float32Array(n);
        nb.unary(op, x, out, n, 0, 0);
        return out;
      }));
      expect(a, op).toEqual(b);
    }
    const g = randn(n);
    for (const op of ['geluGrad', 'siluGrad'] as BinaryOp[]) {
      for (const bStride of [[1], [0]]) {
        const [a, b] = (['avx512', 'avx2'] as const).map((impl) => under(impl, () => {
          const out = new Float32Array(n);
          nb.binary(op, x, 0, [1], g, 0, bStride, out, [n]);
          return out;
        }));
        expect(a, `${op} b stride ${bStride[0]}`).toEqual(b);
      }
    }
  });

  it('softmax (causal too) and cross-entropy over a 50k vocabulary: close, masked entries exactly 0', () => {
    const rows = 6, cols = 50257;
    const logits = randn(rows * cols, 4);
    const targets = Int32Array.from([0, 5, -100, cols - 1, 17, 3]);
    const [a, b] = (['avx512', 'avx2'] as const).map((impl) => under(impl, () => {
      const probs = new Float32Array(rows * cols), causal = new Float32Array(rows * cols);
      nb.softmax(logits, probs, rows, cols, 0);
      nb.softmax(logits, causal, rows, cols, rows);
      const losses = new Float32Array(rows), lse = new Float32Array(rows), dl = new Float32Array(rows * cols);
      nb.crossEntropy(logits, targets, rows, cols, -100, losses, lse);
      nb.crossEntropyBackward(logits, lse, targets, rows, cols, -100, new Float32Array(rows).fill(0.5), dl);
      return { probs, causal, losses, lse, dl };
    }));
    for (const k of ['probs', 'causal', 'losses', 'lse', 'dl'] as const) expectClose(`${k} avx512 vs avx2`, a[k], b[k], ROUND);
    for (let r = 0; r < rows; r++) for (let c = r + cols - rows + 1; c < cols; c++) expect(a.causal[r * cols + c]).toBe(0);
  });
});
