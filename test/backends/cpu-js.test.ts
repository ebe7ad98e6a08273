// Tests for the cpu-js reference backend: each kernel against hand values, naive loops or finite differences.
import { describe, expect, it } from 'vitest';
import type { Buf, DType, GemmArgs } from '../../src/backends/backend.js';
import { BINARY_OPS, UNARY_OPS } from '../../src/backends/backend.js';
import { cpuJs as be } from '../../src/backends/cpu-js/index.js';

/** Deterministic uniform values in [-1, 1). */
function rand(n: number, seed = 1, dtype: DType = 'float64'): Buf {
  const out = be.alloc(dtype, n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const f64 = (xs: number[]) => Float64Array.from(xs);

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Math.abs(a - e) > tol * Math.max(1, Math.abs(e))) {
      throw new Error(`index ${i}: got ${a}, expected ${e} (tol ${tol})`);
    }
  }
}

/** Central finite-difference gradient of scalar f at x (float64). */
function numGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i]!;
    x[i] = x0 + h; const fp = f(x);
    x[i] = x0 - h; const fm = f(x);
    x[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

describe('cpu-js memory kernels', () => {
  it('alloc returns zeroed buffers of the dtype', () => {
    expect(be.supports('float32') && be.supports('float64')).toBe(true);
    const a = be.alloc('float32', 5), b = be.alloc('float64', 3);
    expect(a).toBeInstanceOf(Float32Array);
    expect(b).toBeInstanceOf(Float64Array);
    expect([...a, ...b].every((v) => v === 0)).toBe(true);
  });

  it('fill writes every element', () => {
    const a = be.alloc('float32', 4);
    be.fill(a, 2.5);
    expect([...a]).toEqual([2.5, 2.5, 2.5, 2.5]);
  });

  it('copyStrided transposes, slices, concatenates and handles rank 0', () => {
    const src = f64([0, 1, 2, 3, 4, 5]); // (2, 3)
    const t = new Float64Array(6);
    be.copyStrided(src, 0, [1, 3], t, 0, [2, 1], [3, 2]); // transpose to (3, 2)
    expect([...t]).toEqual([0, 3, 1, 4, 2, 5]);

    const slice = new Float64Array(2); // src[:, 1:2] -> (2, 1)
    be.copyStrided(src, 1, [3, 1], slice, 0, [1, 1], [2, 1]);
    expect([...slice]).toEqual([1, 4]);

    const cat = new Float64Array(10); // concat (2, 3) and (2, 2) along dim 1 -> (2, 5)
    be.copyStrided(src, 0, [3, 1], cat, 0, [5, 1], [2, 3]);
    be.copyStrided(f64([9, 8, 7, 6]), 0, [2, 1], cat, 3, [5, 1], [2, 2]);
    expect([...cat]).toEqual([0, 1, 2, 9, 8, 3, 4, 5, 7, 6]);

    const one = new Float64Array(1);
    be.copyStrided(src, 4, [], one, 0, [], []);
    expect(one[0]).toBe(4);

    be.copyStrided(src, 0, [3, 1], one, 0, [0, 0], [0, 3]); // empty shape: no writes
    expect(one[0]).toBe(4);
  });

  it('copyStrided permutes a 4-d tensor like a naive index loop', () => {
    const shape = [2, 3, 4, 5];
    const x = rand(120, 7);
    // permute (a, b, c, d) -> (c, a, d, b): out shape (4, 2, 5, 3)
    const out = new Float64Array(120);
    be.copyStrided(x, 0, [60, 20, 5, 1], out, 0, [15, 1, 30, 3], shape);
    for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 4; c++) for (let d = 0; d < 5; d++) {
      expect(out[c * 30 + a * 15 + d * 3 + b]).toBe(x[a * 60 + b * 20 + c * 5 + d]);
    }
  });
});

describe('cpu-js unary', () => {
  const x = f64([-2.5, -1, -0.3, 0, 0.4, 1, 3]);
  const pos = f64([0.1, 0.5, 1, 2, 9]);
  const ref: Record<string, (v: number) => number> = {
    neg: (v) => -v, exp: Math.exp, tanh: Math.tanh, sigmoid: (v) => 1 / (1 + Math.exp(-v)),
    relu: (v) => Math.max(v, 0), abs: Math.abs, square: (v) => v * v,
    gelu: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
    silu: (v) => v / (1 + Math.exp(-v)), affine: (v) => 2 * v - 0.5, pow: (v) => v ** 2,
    log: Math.log, sqrt: Math.sqrt, rsqrt: (v) => 1 / Math.sqrt(v),
  };

  for (const op of UNARY_OPS) {
    it(`${op} matches its formula`, () => {
      const input = op === 'log' || op === 'sqrt' || op === 'rsqrt' ? pos : x;
      const out = new Float64Array(input.length);
      be.unary(op, input, out, input.length, 2, -0.5);
      expectClose(out, Array.from(input, ref[op]!), 1e-14);
    });
  }

  it('gelu matches torch gelu(approximate="tanh") values', () => {
    const out = new Float64Array(3);
    be.unary('gelu', f64([1, -1, 2]), out, 3, 0, 0);
    expectClose(out, [0.8411920, -0.1588080, 1.9545977], 1e-6);
  });

  it('sigmoid is stable for large |x| and float32 output rounds', () => {
    const out = new Float64Array(2);
    be.unary('sigmoid', f64([-800, 800]), out, 2, 0, 0);
    expect([...out]).toEqual([0, 1]);
    const o32 = be.alloc('float32', 1);
    be.unary('exp', Float32Array.of(1), o32, 1, 0, 0);
    expect(o32[0]).toBe(Math.fround(Math.E));
  });

  it('pow uses alpha and only touches n elements', () => {
    const out = f64([7, 7, 7]);
    be.unary('pow', f64([2, 3, 4]), out, 2, 3, 0);
    expect([...out]).toEqual([8, 27, 7]);
  });
});

describe('cpu-js binary', () => {
  const a = f64([-1.5, -0.2, 0, 0.7, 2]);
  const b = f64([0.5, -3, 1.25, 0.7, -2]);

  it('arithmetic and min/max match hand values', () => {
    const run = (op: (typeof BINARY_OPS)[number]) => {
      const out = new Float64Array(5);
      be.binary(op, a, 0, [1], b, 0, [1], out, [5]);
      return [...out];
    };
    expect(run('add')).toEqual(Array.from(a, (v, i) => v + b[i]!));
    expect(run('sub')).toEqual(Array.from(a, (v, i) => v - b[i]!));
    expect(run('mul')).toEqual(Array.from(a, (v, i) => v * b[i]!));
    expect(run('div')).toEqual(Array.from(a, (v, i) => v / b[i]!));
    expect(run('maximum')).toEqual([0.5, -0.2, 1.25, 0.7, 2]);
    expect(run('minimum')).toEqual([-1.5, -3, 0, 0.7, -2]);
    expect(run('reluGrad')).toEqual([0, 0, 0, 0.7, -2]);
  });

  it('maximum and minimum propagate NaN', () => {
    const out = new Float64Array(2);
    be.binary('maximum', f64([NaN, 1]), 0, [1], f64([1, NaN]), 0, [1], out, [2]);
    expect(out.every(Number.isNaN)).toBe(true);
    be.binary('minimum', f64([NaN, 1]), 0, [1], f64([1, NaN]), 0, [1], out, [2]);
    expect(out.every(Number.isNaN)).toBe(true);
  });

  for (const [gradOp, fwdOp] of [['geluGrad', 'gelu'], ['siluGrad', 'silu']] as const) {
    it(`${gradOp} matches finite differences of ${fwdOp}`, () => {
      const xs = f64([-4, -1.3, -0.5, -0.01, 0.01, 0.3, 1, 2.7]);
      const g = rand(xs.length, 3);
      const out = new Float64Array(xs.length);
      be.binary(gradOp, xs, 0, [1], g, 0, [1], out, [xs.length]);
      const f = (v: Float64Array) => {
        const y = new Float64Array(v.length);
        be.unary(fwdOp, v, y, v.length, 0, 0);
        return dot(y, g);
      };
      expectClose(out, numGrad(f, xs), 1e-8);
    });
  }

  it('broadcasts through stride-0 dims', () => {
    const m = f64([1, 2, 3, 4, 5, 6]); // (2, 3)
    const row = f64([10, 20, 30]); // (3) -> (2, 3)
    const col = f64([100, 200]); // (2, 1) -> (2, 3)
    const out = new Float64Array(6);
    be.binary('add', m, 0, [3, 1], row, 0, [0, 1], out, [2, 3]);
    expect([...out]).toEqual([11, 22, 33, 14, 25, 36]);
    be.binary('sub', col, 0, [1, 0], m, 0, [3, 1], out, [2, 3]);
    expect([...out]).toEqual([99, 98, 97, 196, 195, 194]);
    const s = new Float64Array(4);
    be.binary('mul', f64([3]), 0, [0, 0], f64([1, 2, 3, 4]), 0, [2, 1], s, [2, 2]);
    expect([...s]).toEqual([3, 6, 9, 12]);
  });

  it('3-d outer-product broadcast with offsets and transposed strides matches naive', () => {
    const x = rand(20, 5), y = rand(30, 6);
    // a: (2, 1, 3) read from x at offset 4 with strides [5, 0, 1]; b: (1, 4, 3) = y[2:] transposed view.
    const shape = [2, 4, 3];
    const out = new Float64Array(24);
    be.binary('mul', x, 4, [5, 0, 1], y, 2, [0, 1, 4], out, shape);
    let o = 0;
    for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 3; k++) {
      expect(out[o++]).toBe(x[4 + 5 * i + k]! * y[2 + j + 4 * k]!);
    }
  });

  it('works at rank 0 and in place on a contiguous input, in float32', () => {
    const out = new Float64Array(1);
    be.binary('div', f64([1]), 0, [], f64([4]), 0, [], out, []);
    expect(out[0]).toBe(0.25);
    const p = Float32Array.of(1, 2, 3, 4);
    be.binary('add', p, 0, [2, 1], Float32Array.of(0.5, 0.25), 0, [0, 1], p, [2, 2]);
    expect([...p]).toEqual([1.5, 2.25, 3.5, 4.25]);
  });
});

describe('cpu-js reductions', () => {
  const shape = [2, 3, 4];
  const x = rand(24, 11);
  const naive = (keep: boolean[]) => {
    const oshape = shape.map((s, d) => (keep[d] ? s : 1));
    const out = new Float64Array(oshape.reduce((p, q) => p * q, 1));
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) {
      const idx = [i, j, k].map((v, d) => (keep[d] ? v : 0));
      out[(idx[0]! * oshape[1]! + idx[1]!) * oshape[2]! + idx[2]!] += x[i * 12 + j * 4 + k]!;
    }
    return out;
  };

  const masks = [[true, true, true], [false, false, false], [true, false, true], [false, true, false],
    [false, false, true], [true, true, false]];
  for (const keep of masks) {
    it(`sumReduce keep=${keep.map((k) => (k ? 1 : 0)).join('')} matches naive`, () => {
      const expected = naive(keep);
      const out = new Float64Array(expected.length);
      be.sumReduce(x, shape, keep, out);
      expectClose(out, expected, 1e-14);
    });
  }

  it('sumReduce handles rank 0 and accumulates float32 in float64', () => {
    const out = new Float64Array(1);
    be.sumReduce(f64([3]), [], [], out);
    expect(out[0]).toBe(3);
    const n = 1 << 20;
    const big = new Float32Array(n).fill(0.1);
    const o32 = be.alloc('float32', 1);
    be.sumReduce(big, [n], [false], o32);
    expect(o32[0]).toBe(Math.fround(n * Math.fround(0.1)));
  });

  it('sumSquares', () => {
    expect(be.sumSquares(f64([1, -2, 3, 100]), 3)).toBe(14);
  });
});

describe('cpu-js gemm', () => {
  /** Naive C = alpha * op(A) @ op(B) + beta * C for one batch entry given element accessors. */
  function naive(args: GemmArgs, c0: Float64Array): Float64Array {
    const c = Float64Array.from(c0);
    const { M, N, K } = args;
    for (let bt = 0; bt < args.batch; bt++) {
      const A = (i: number, k: number) => args.a[args.aOffset + bt * args.aBatchStride +
        (args.transA ? k * args.lda + i : i * args.lda + k)]!;
      const B = (k: number, j: number) => args.b[args.bOffset + bt * args.bBatchStride +
        (args.transB ? j * args.ldb + k : k * args.ldb + j)]!;
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A(i, k) * B(k, j);
        const ci = args.cOffset + bt * args.cBatchStride + i * args.ldc + j;
        c[ci] = args.alpha * s + (args.beta === 0 ? 0 : args.beta * c0[ci]!);
      }
    }
    return c;
  }

  for (const transA of [false, true]) for (const transB of [false, true]) {
    it(`transA=${transA} transB=${transB} with padding, offsets, batch and alpha/beta matches naive`, () => {
      const M = 3, N = 4, K = 5, batch = 2;
      const lda = (transA ? M : K) + 2, ldb = (transB ? K : N) + 1, ldc = N + 3;
      const aRows = transA ? K : M, bRows = transB ? N : K;
      const args: GemmArgs = {
        transA, transB, M, N, K, alpha: 0.75, beta: -1.5, batch,
        a: rand(3 + batch * aRows * lda, 21), aOffset: 3, lda, aBatchStride: aRows * lda,
        b: rand(bRows * ldb + 1, 22), bOffset: 1, ldb, bBatchStride: 0, // one B broadcast over the batch
        c: rand(2 + batch * M * ldc, 23), cOffset: 2, ldc, cBatchStride: M * ldc,
      };
      const expected = naive(args, args.c as Float64Array);
      be.gemm(args);
      expectClose(args.c, expected, 1e-13);
    });
  }

  it('hand-computed 2x2 product', () => {
    const c = new Float64Array(4);
    be.gemm({ transA: false, transB: false, M: 2, N: 2, K: 2, alpha: 1, beta: 0, batch: 1,
      a: f64([1, 2, 3, 4]), aOffset: 0, lda: 2, aBatchStride: 0,
      b: f64([5, 6, 7, 8]), bOffset: 0, ldb: 2, bBatchStride: 0, c, cOffset: 0, ldc: 2, cBatchStride: 0 });
    expect([...c]).toEqual([19, 22, 43, 50]);
  });

  it('beta == 0 does not read C (NaN does not propagate); float32 output', () => {
    const c = new Float32Array(4).fill(NaN);
    be.gemm({ transA: true, transB: true, M: 2, N: 2, K: 1, alpha: 2, beta: 0, batch: 1,
      a: Float32Array.of(1, 2), aOffset: 0, lda: 2, aBatchStride: 0,
      b: Float32Array.of(3, 4), bOffset: 0, ldb: 1, bBatchStride: 0, c, cOffset: 0, ldc: 2, cBatchStride: 0 });
    expect([...c]).toEqual([6, 8, 12, 16]);
  });
});

describe('cpu-js softmax', () => {
  const softmaxOf = (x: Buf, rows: number, cols: number, causalT = 0) => {
    const y = new Float64Array(rows * cols);
    be.softmax(x, y, rows, cols, causalT);
    return y;
  };

  it('rows sum to 1 and match exp/sum, stable for large logits', () => {
    const x = f64([1, 2, 3, 1000, 1001, 1002]);
    const y = softmaxOf(x, 2, 3);
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const s = e[0]! + e[1]! + e[2]!;
    expectClose(y, [...e.map((v) => v / s), ...e.map((v) => v / s)], 1e-14);
  });

  it('causal mask with square and longer (KV cache) key axis', () => {
    const T = 3;
    const x = rand(2 * T * 3, 4);
    const y = softmaxOf(x, 2 * T, 3, T); // two heads of (T, T)
    for (let r = 0; r < 2 * T; r++) {
      const last = r % T;
      let sum = 0, expSum = 0;
      for (let c = 0; c <= last; c++) expSum += Math.exp(x[r * 3 + c]!);
      for (let c = 0; c < 3; c++) {
        const v = y[r * 3 + c]!;
        if (c > last) expect(Object.is(v, 0)).toBe(true);
        else expect(v).toBeCloseTo(Math.exp(x[r * 3 + c]!) / expSum, 14);
        sum += v;
      }
      expect(sum).toBeCloseTo(1, 14);
    }
    // T=2 queries over 5 keys: query 0 sees keys 0..3, query 1 sees all 5.
    const y2 = softmaxOf(rand(10, 9), 2, 5, 2);
    expect(y2[4]).toBe(0);
    expect(y2[3]).toBeGreaterThan(0);
    expect(y2[9]).toBeGreaterThan(0);
  });

  it('backward matches finite differences (with and without a causal mask)', () => {
    for (const causalT of [0, 4]) {
      const rows = 4, cols = 4;
      const x = rand(rows * cols, 12) as Float64Array;
      const g = rand(rows * cols, 13);
      const y = softmaxOf(x, rows, cols, causalT);
      const dx = new Float64Array(rows * cols);
      be.softmaxBackward(y, g, dx, rows, cols);
      const num = numGrad((v) => dot(softmaxOf(v, rows, cols, causalT), g), x);
      expectClose(dx, num, 1e-8);
    }
  });
});

describe('cpu-js cross-entropy', () => {
  it('losses and lse match hand computation; ignored rows get 0', () => {
    const logits = f64([1, 2, 3, 0, 0, 0, 5, -1, 2]);
    const targets = Int32Array.of(2, 1, -100);
    const losses = new Float64Array(3), lse = new Float64Array(3);
    be.crossEntropy(logits, targets, 3, 3, -100, losses, lse);
    const l0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    expectClose(lse.subarray(0, 2), [l0, Math.log(3)], 1e-14);
    expectClose(losses, [l0 - 3, Math.log(3), 0], 1e-14);
  });

  it('backward matches finite differences of sum(scale * loss)', () => {
    const rows = 4, V = 5;
    const logits = rand(rows * V, 31) as Float64Array;
    for (let i = 0; i < logits.length; i++) logits[i]! *= 3;
    const targets = Int32Array.of(0, 4, -1, 2);
    const scale = f64([0.5, 1, 2, 0.25]);
    const lossOf = (x: Float64Array) => {
      const losses = new Float64Array(rows), lse = new Float64Array(rows);
      be.crossEntropy(x, targets, rows, V, -1, losses, lse);
      return dot(losses, scale);
    };
    const losses = new Float64Array(rows), lse = new Float64Array(rows);
    be.crossEntropy(logits, targets, rows, V, -1, losses, lse);
    const d = new Float64Array(rows * V).fill(NaN);
    be.crossEntropyBackward(logits, lse, targets, rows, V, -1, scale, d);
    expectClose(d, numGrad(lossOf, logits), 1e-8);
    expect([...d.subarray(2 * V, 3 * V)]).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('cpu-js norms', () => {
  const rows = 3, C = 6, eps = 1e-5;
  const x = rand(rows * C, 41) as Float64Array;
  const w = rand(C, 42) as Float64Array;
  const b = rand(C, 43) as Float64Array;
  const gy = rand(rows * C, 44);

  const ln = (xv: Buf, wv: Buf, bv: Buf | null) => {
    const y = new Float64Array(rows * C), mean = new Float64Array(rows), rstd = new Float64Array(rows);
    be.layerNorm(xv, wv, bv, rows, C, eps, y, mean, rstd);
    return { y, mean, rstd };
  };
  const rms = (xv: Buf, wv: Buf) => {
    const y = new Float64Array(rows * C), rstd = new Float64Array(rows);
    be.rmsNorm(xv, wv, rows, C, eps, y, rstd);
    return { y, rstd };
  };

  it('layerNorm with w=1, b=0 gives mean 0 and variance ~1 per row', () => {
    const { y, mean } = ln(x, new Float64Array(C).fill(1), null);
    for (let r = 0; r < rows; r++) {
      const row = y.subarray(r * C, (r + 1) * C);
      const m = row.reduce((p, q) => p + q, 0) / C;
      const v = row.reduce((p, q) => p + (q - m) ** 2, 0) / C;
      expect(m).toBeCloseTo(0, 14);
      let xv = 0, xm = 0;
      for (let c = 0; c < C; c++) xm += x[r * C + c]! / C;
      for (let c = 0; c < C; c++) xv += (x[r * C + c]! - xm) ** 2 / C;
      expect(v).toBeCloseTo(xv / (xv + eps), 12);
      expect(mean[r]).toBeCloseTo(xm, 14);
    }
  });

  it('layerNorm applies w and b', () => {
    const plain = ln(x, new Float64Array(C).fill(1), null).y;
    const { y } = ln(x, w, b);
    expectClose(y, Array.from(plain, (v, i) => v * w[i % C]! + b[i % C]!), 1e-14);
  });

  it('layerNormBackward matches finite differences and accumulates dw/db', () => {
    const { mean, rstd } = ln(x, w, b);
    const dx = new Float64Array(rows * C), dw = new Float64Array(C).fill(1), db = new Float64Array(C).fill(-1);
    be.layerNormBackward(x, w, mean, rstd, gy, rows, C, dx, dw, db);
    expectClose(dx, numGrad((v) => dot(ln(v, w, b).y, gy), x), 1e-8);
    expectClose(dw, Array.from(numGrad((v) => dot(ln(x, v, b).y, gy), w), (v) => v + 1), 1e-8);
    expectClose(db, Array.from(numGrad((v) => dot(ln(x, w, v).y, gy), b), (v) => v - 1), 1e-8);
    const dxOnly = new Float64Array(rows * C);
    be.layerNormBackward(x, w, mean, rstd, gy, rows, C, dxOnly, null, null);
    expectClose(dxOnly, dx, 0);
  });

  it('rmsNorm with w=1 gives mean square ~1 per row', () => {
    const { y, rstd } = rms(x, new Float64Array(C).fill(1));
    for (let r = 0; r < rows; r++) {
      let ms = 0;
      for (let c = 0; c < C; c++) ms += x[r * C + c]! ** 2 / C;
      const ym = y.subarray(r * C, (r + 1) * C).reduce((p, q) => p + q * q, 0) / C;
      expect(ym).toBeCloseTo(ms / (ms + eps), 12);
      expect(rstd[r]).toBeCloseTo(1 / Math.sqrt(ms + eps), 12);
    }
  });

  it('rmsNormBackward matches finite differences and accumulates dw', () => {
    const { rstd } = rms(x, w);
    const dx = new Float64Array(rows * C), dw = new Float64Array(C).fill(2);
    be.rmsNormBackward(x, w, rstd, gy, rows, C, dx, dw);
    expectClose(dx, numGrad((v) => dot(rms(v, w).y, gy), x), 1e-8);
    expectClose(dw, Array.from(numGrad((v) => dot(rms(x, v).y, gy), w), (v) => v + 2), 1e-8);
  });

  it('float32 layerNorm and rmsNorm agree with float64', () => {
    const x32 = Float32Array.from(x), w32 = Float32Array.from(w), b32 = Float32Array.from(b);
    const y32 = new Float32Array(rows * C), m32 = new Float32Array(rows), r32 = new Float32Array(rows);
    be.layerNorm(x32, w32, b32, rows, C, eps, y32, m32, r32);
    expectClose(y32, ln(x32, w32, b32).y, 1e-6);
    be.rmsNorm(x32, w32, rows, C, eps, y32, r32);
    expectClose(y32, rms(x32, w32).y, 1e-6);
  });
});

describe('cpu-js rope', () => {
  it('hand values for hs=4 in both layouts', () => {
    const cos = f64([0.6, 1]), sin = f64([0.8, 0]); // T=1, hs/2=2
    const x = f64([1, 2, 3, 4]);
    const out = new Float64Array(4);
    be.rope(x, cos, sin, 1, 1, 4, true, false, out); // pairs (0,2) rotated by 0.6/0.8, (1,3) identity
    expectClose(out, [1 * 0.6 - 3 * 0.8, 2, 3 * 0.6 + 1 * 0.8, 4], 1e-15);
    be.rope(x, cos, sin, 1, 1, 4, false, false, out); // pairs (0,1) rotated, (2,3) identity
    expectClose(out, [1 * 0.6 - 2 * 0.8, 2 * 0.6 + 1 * 0.8, 3, 4], 1e-15);
  });

  for (const halfSplit of [true, false]) {
    it(`halfSplit=${halfSplit}: inverse undoes rope and is its finite-difference backward`, () => {
      const outer = 2, T = 3, hs = 8, half = hs / 2;
      const cos = new Float64Array(T * half), sin = new Float64Array(T * half);
      for (let t = 0; t < T; t++) for (let i = 0; i < half; i++) {
        const th = t / 10000 ** (i / half) + 0.1;
        cos[t * half + i] = Math.cos(th);
        sin[t * half + i] = Math.sin(th);
      }
      const n = outer * T * hs;
      const x = rand(n, 51) as Float64Array, g = rand(n, 52);
      const fwd = (v: Buf) => {
        const y = new Float64Array(n);
        be.rope(v, cos, sin, outer, T, hs, halfSplit, false, y);
        return y;
      };
      const back = new Float64Array(n);
      be.rope(fwd(x), cos, sin, outer, T, hs, halfSplit, true, back);
      expectClose(back, x, 1e-14);
      const dx = new Float64Array(n);
      be.rope(g, cos, sin, outer, T, hs, halfSplit, true, dx);
      expectClose(dx, numGrad((v) => dot(fwd(v), g), x), 1e-8);
      const inPlace = Float64Array.from(x); // out may alias x
      be.rope(inPlace, cos, sin, outer, T, hs, halfSplit, false, inPlace);
      expectClose(inPlace, fwd(x), 0);
    });
  }
});

describe('cpu-js embedding', () => {
  it('gathers rows and scatter-adds gradients with repeated ids', () => {
    const weight = f64([0, 1, 10, 11, 20, 21]); // (3, 2)
    const ids = Int32Array.of(2, 0, 2);
    const out = new Float64Array(6);
    be.embedding(weight, ids, 3, 2, out);
    expect([...out]).toEqual([20, 21, 0, 1, 20, 21]);
    const dw = f64([1, 1, 1, 1, 1, 1]);
    be.embeddingBackward(ids, f64([1, 2, 3, 4, 5, 6]), 3, 2, dw);
    expect([...dw]).toEqual([4, 5, 1, 1, 7, 9]);
  });
});

describe('cpu-js adamw', () => {
  it('one and two steps match hand arithmetic', () => {
    const lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
    const p = f64([1, -2]), g = f64([0.5, -0.25]), m = new Float64Array(2), v = new Float64Array(2);
    be.adamw(p, g, m, v, 2, lr, b1, b2, eps, wd, 1);
    // Step 1: m = 0.1 g, v = 0.001 g^2; mhat = g, vhat = g^2, so the update is lr * g / (|g| + eps).
    expectClose(m, [0.05, -0.025], 1e-15);
    expectClose(v, [0.00025, 0.0000625], 1e-15);
    expectClose(p, [1 * 0.999 - 0.1 * 0.5 / (0.5 + eps), -2 * 0.999 + 0.1 * 0.25 / (0.25 + eps)], 1e-14);

    const p1 = p[0]!, m1 = m[1]!;
    be.adamw(p, f64([1, 0]), m, v, 1, lr, b1, b2, eps, wd, 2);
    const m2 = 0.9 * 0.05 + 0.1 * 1, v2 = 0.999 * 0.00025 + 0.001 * 1;
    const expected = p1 * (1 - lr * wd) - lr * (m2 / (1 - 0.81)) / (Math.sqrt(v2 / (1 - 0.999 ** 2)) + eps);
    expect(m[0]).toBeCloseTo(m2, 15);
    expect(v[0]).toBeCloseTo(v2, 15);
    expect(p[0]).toBeCloseTo(expected, 14);
    expect(m[1]).toBe(m1); // n = 1 leaves element 1 alone
  });

  it('float32 buffers are updated in place', () => {
    const p = Float32Array.of(1), m = new Float32Array(1), v = new Float32Array(1);
    be.adamw(p, Float32Array.of(2), m, v, 1, 0.5, 0.9, 0.999, 0, 0, 1);
    expect(p[0]).toBe(0.5);
    expect(m[0]).toBe(Math.fround(0.2));
  });
});
