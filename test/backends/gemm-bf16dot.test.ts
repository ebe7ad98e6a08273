// ISA dispatch and the bf16 GEMMs: setCpuLevel caps what gemmInfo reports and runs; the measured FMA peak; a
// bfloat16 B widened while packing under every built-in kernel; and the bf16 dot-product GEMM (GemmArgs.bf16Dot:
// A and a float32 B rounded to bfloat16, a bfloat16 B read as it is, fp32 accumulation) under every path, against
// a float64 product of the bf16-rounded inputs with a worst-case fp32 summation bound, and bit-identical between
// vdpbf16ps and its emulations.
import { afterAll, describe, expect, it } from 'vitest';
import { nativeAddon } from '../../src/backends/cpu-native.js';
import { nativeAvailable } from '../../src/backends/index.js';
import { cpuJs } from '../../src/backends/cpu-js/index.js';
import { bf16BitsToF32, f32ToBf16Bits } from '../../src/util/bf16.js';
import { Rng } from '../../src/util/rng.js';

const have = nativeAvailable();
const N = have ? nativeAddon() : null;
type Level = 'avx512' | 'avx2' | 'portable';
const LEVELS: Level[] = ['avx512', 'avx2', 'portable'];

// bfloat16 rounding as vcvtneps2bf16: RNE, denormals to signed zero.
function roundBf16(x: number): number {
  return Math.abs(x) < 1.1754943508222875e-38 ? 0 * Math.sign(x) : bf16BitsToF32(f32ToBf16Bits(x));
}
// vdpbf16ps reads bfloat16 denormals as zero.
const bf16Daz = (h: number) => ((h & 0x7f80) === 0 ? 0 : bf16BitsToF32(h));

interface Prob {
  transA: boolean; transB: boolean; M: number; N: number; K: number; alpha: number; beta: number; batch: number;
  lda: number; ldb: number; ldc: number; a: Float32Array; b: Uint16Array | Float32Array; c: Float32Array;
  sA: number; sB: number; sC: number;
}

// A problem with padded leading dimensions, a batch (B shared when shareB), values spanning magnitudes, some
// exact zeros and some denormal values (rounded to zero). B is bfloat16 bits, or float32 with floatB.
function problem(r: Rng, transA: boolean, transB: boolean, M: number, Nn: number, K: number,
  o: { batch?: number; alpha?: number; beta?: number; shareB?: boolean; floatB?: boolean } = {}): Prob {
  const batch = o.batch ?? 1;
  const lda = (transA ? M : K) + (M % 3), ldb = (transB ? K : Nn) + (K % 2), ldc = Nn + 1;
  const sA = (transA ? K : M) * lda, sB = o.shareB ? 0 : (transB ? Nn : K) * ldb, sC = M * ldc;
  const val = () => {
    const u = r.uniform();
    if (u < 0.03) return 0;
    if (u < 0.05) return (r.uniform() - 0.5) * 1e-39;
    return (r.uniform() * 2 - 1) * Math.exp(4 * (r.uniform() - 0.5));
  };
  const a = Float32Array.from({ length: batch * sA }, val);
  const bLen = Math.max(1, batch * sB || (transB ? Nn : K) * ldb);
  const b = o.floatB ? Float32Array.from({ length: bLen }, val) : Uint16Array.from({ length: bLen }, () => f32ToBf16Bits(val()));
  const c = Float32Array.from({ length: batch * sC }, () => r.uniform() - 0.5);
  return { transA, transB, M, N: Nn, K, alpha: o.alpha ?? 1, beta: o.beta ?? 0, batch, lda, ldb, ldc, a, b, c, sA, sB, sC };
}

function run(p: Prob, bf16Dot: boolean): Float32Array {
  const c = Float32Array.from(p.c);
  N!.gemm(p.transA, p.transB, p.M, p.N, p.K, p.alpha, p.beta, p.batch, p.a, 0, p.lda, p.sA, p.b, 0, p.ldb, p.sB,
    c, 0, p.ldc, p.sC, bf16Dot);
  return c;
}

// Expected C in float64 from round(alpha*A) and round(B) (bf16Dot; a bfloat16 B read with denormals as zero) or
// alpha*A and B (widened B), and the worst-case error of
// an fp32 sum of K products plus the beta term: (K + 2) * 2^-24 * (sum |a b| + |beta c|).
function expected(p: Prob, bf16Dot: boolean): { want: Float64Array; bound: Float64Array } {
  const want = new Float64Array(p.c.length), bound = new Float64Array(p.c.length);
  for (let t = 0; t < p.batch; t++) {
    for (let i = 0; i < p.M; i++) {
      for (let j = 0; j < p.N; j++) {
        let s = 0, m = 0;
        for (let k = 0; k < p.K; k++) {
          const av0 = p.a[t * p.sA + (p.transA ? k * p.lda + i : i * p.lda + k)]!;
          const bh = p.b[t * p.sB + (p.transB ? j * p.ldb + k : k * p.ldb + j)]!;
          const av = bf16Dot ? roundBf16(Math.fround(p.alpha * av0)) : p.alpha * av0;
          const bv = p.b instanceof Float32Array ? (bf16Dot ? roundBf16(bh) : bh) : bf16Dot ? bf16Daz(bh) : bf16BitsToF32(bh);
          s += av * bv;
          m += Math.abs(av * bv);
        }
        const idx = t * p.sC + i * p.ldc + j;
        const old = p.c[idx]!;
        want[idx] = s + (p.beta === 0 ? 0 : p.beta * old);
        bound[idx] = (p.K + 2) * 2 ** -24 * (m + Math.abs(p.beta * old)) + 1e-37;
      }
    }
  }
  return { want, bound };
}

function check(p: Prob, got: Float32Array, ref: { want: Float64Array; bound: Float64Array }, what: string): void {
  let bad = 0, first = '';
  for (let t = 0; t < p.batch; t++) {
    for (let i = 0; i < p.M; i++) {
      for (let j = 0; j < p.N; j++) {
        const idx = t * p.sC + i * p.ldc + j;
        if (!(Math.abs(got[idx]! - ref.want[idx]!) <= ref.bound[idx]!) && bad++ === 0) {
          first = `C[${t}][${i}][${j}] = ${got[idx]}, want ${ref.want[idx]} ± ${ref.bound[idx]}`;
        }
      }
      // The padding column of C is untouched.
      if (got[t * p.sC + i * p.ldc + p.N] !== p.c[t * p.sC + i * p.ldc + p.N] && bad++ === 0) first = 'padding written';
    }
  }
  expect(bad, `${what} ${p.transA ? 'T' : 'N'}${p.transB ? 'T' : 'N'} ${p.M}x${p.N}x${p.K} batch ${p.batch}: ${bad} wrong, first ${first}`).toBe(0);
}

// Awkward shapes: edges of the 8x48 tile, odd K (a half pair), K across the 256-deep k block, N across the
// 3072-wide n block, enough work for both threads.
const SHAPES: [number, number, number][] = [[1, 1, 1], [7, 47, 3], [8, 48, 2], [9, 49, 17], [17, 95, 255], [33, 50, 257],
  [70, 130, 513], [5, 3100, 9], [120, 100, 200]];
const TRANS: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

describe.skipIf(!have)('GEMM ISA levels and bf16 GEMMs', { timeout: 300_000 }, () => {
  const info = N?.gemmInfo();
  const allowed = LEVELS.slice(LEVELS.indexOf(info?.isa ?? 'portable'));
  afterAll(() => {
    N?.setCpuLevel(info!.isa);
    N?.setGemmImpl('auto');
  });

  it('setCpuLevel caps the ISA that gemmInfo reports, the built-in GEMM runs and the row kernels use', () => {
    for (const level of allowed) {
      N!.setCpuLevel(level);
      N!.setGemmImpl('builtin');
      expect(N!.gemmInfo().isa).toBe(level);
      expect(N!.gemmInfo().impl).toBe(level);
      expect(N!.kernelInfo().impl).toBe(level);
      expect(N!.kernelInfo().avx512).toBe(level === 'avx512');
      if (level !== 'avx512') expect(() => N!.setGemmImpl('avx512')).toThrow(/not available/);
    }
    N!.setCpuLevel(info!.isa);
    expect(N!.gemmInfo().isa).toBe(info!.isa);
    expect(() => N!.setCpuLevel('sse' as Level)).toThrow(/avx512/);
    expect(N!.gemmInfo().bf16Kernel).toBe(info!.avx512bf16 && info!.isa === 'avx512' ? 'avx512-bf16dot' : 'bf16dot-emulated');
  });

  it('fmaPeak measures a positive GFLOPS figure per ISA, and rejects an ISA the CPU lacks', () => {
    for (const level of allowed) expect(N!.fmaPeak(1, level)).toBeGreaterThan(0.1);
    if (!info!.avx512) expect(() => N!.fmaPeak(1, 'avx512')).toThrow(/isa/);
    expect(() => N!.fmaPeak(0)).toThrow(/threads/);
  });

  it('bfloat16 B widened while packing: every built-in kernel against float64', () => {
    const r = new Rng(11);
    for (const level of allowed) {
      N!.setGemmImpl(level);
      for (const [ta, tb] of TRANS) {
        for (const [M, Nn, K] of SHAPES) {
          const p = problem(r, ta, tb, M, Nn, K, { alpha: 0.5, beta: 0.25 });
          check(p, run(p, false), expected(p, false), `widened ${level}`);
        }
      }
    }
    N!.setGemmImpl('auto');
  });

  it.each([['bfloat16', false], ['float32', true]] as const)('bf16 dot-product GEMM, %s B: every path against float64 of the bf16-rounded inputs; vdpbf16ps and its emulations agree bit for bit', (_, floatB) => {
    const r = new Rng(floatB ? 15 : 12);
    const impls = ['builtin', 'reference', ...(info!.openblasAvailable ? ['openblas' as const] : [])] as const;
    let n = 0;
    for (const [ta, tb] of TRANS) {
      for (const [M, Nn, K] of SHAPES) {
        const o = n % 3 === 0 ? { batch: 3, shareB: n % 2 === 0, beta: 0.5 } : n % 3 === 1 ? { alpha: -2 } : {};
        const p = problem(r, ta, tb, M, Nn, K, { ...o, floatB });
        const ref = expected(p, true);
        n++;
        // The built-in bf16 dot kernel at each ISA level: vdpbf16ps where the CPU has it, else the emulation.
        const byLevel = allowed.map((level) => {
          N!.setCpuLevel(level);
          N!.setGemmImpl('builtin');
          const got = run(p, true);
          check(p, got, ref, `bf16Dot ${level} (${N!.gemmInfo().bf16Kernel})`);
          return got;
        });
        for (const got of byLevel.slice(1)) {
          for (let i = 0; i < got.length; i++) {
            if (!Object.is(got[i], byLevel[0]![i])) expect.fail(`bf16Dot differs between ISA levels at ${i}: ${got[i]} vs ${byLevel[0]![i]}`);
          }
        }
        N!.setCpuLevel(info!.isa);
        for (const impl of impls) {
          N!.setGemmImpl(impl);
          check(p, run(p, true), ref, `bf16Dot impl ${impl}`);
        }
        N!.setGemmImpl('auto');
      }
    }
  });

  it('float32 matmul precision is unchanged: bf16Dot false gives the widened GEMM bit for bit', () => {
    const r = new Rng(13);
    const p = problem(r, false, true, 40, 96, 130);
    const plain = Float32Array.from(p.c);
    N!.gemm(false, true, p.M, p.N, p.K, 1, 0, 1, p.a, 0, p.lda, 0, p.b, 0, p.ldb, 0, plain, 0, p.ldc, 0);
    expect(run(p, false)).toEqual(plain);
    const q = problem(r, true, false, 40, 96, 130, { floatB: true });
    const plainF = Float32Array.from(q.c);
    N!.gemm(true, false, q.M, q.N, q.K, 1, 0, 1, q.a, 0, q.lda, 0, q.b, 0, q.ldb, 0, plainF, 0, q.ldc, 0);
    expect(run(q, false)).toEqual(plainF);
  });

  it('bf16Dot with a float32 B equals bf16Dot with that B rounded to bfloat16 first, bit for bit, at every ISA level', () => {
    const r = new Rng(16);
    for (const [ta, tb] of TRANS) {
      const p = problem(r, ta, tb, 37, 101, 259, { floatB: true, beta: 0.5 });
      const rounded = { ...p, b: Uint16Array.from(p.b, (v) => f32ToBf16Bits(roundBf16(v))) };
      for (const level of allowed) {
        N!.setCpuLevel(level);
        N!.setGemmImpl('builtin');
        const got = run(p, true), want = run(rounded, true);
        for (let i = 0; i < got.length; i++) {
          if (!Object.is(got[i], want[i])) expect.fail(`${level} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}: float32 B differs at ${i}: ${got[i]} vs ${want[i]}`);
        }
      }
    }
    N!.setCpuLevel(info!.isa);
    N!.setGemmImpl('auto');
  });

  it('cpu-js bf16Dot matches the same float64 reference, with bfloat16 and float32 B', () => {
    const r = new Rng(14);
    for (const [ta, tb] of TRANS) for (const floatB of [false, true]) {
      const p = problem(r, ta, tb, 9, 50, 33, { beta: 0.5, alpha: 1.5, floatB });
      const c = Float32Array.from(p.c);
      cpuJs.gemm({ transA: ta, transB: tb, M: p.M, N: p.N, K: p.K, alpha: p.alpha, beta: p.beta, batch: 1,
        a: p.a, aOffset: 0, lda: p.lda, aBatchStride: 0, b: p.b, bOffset: 0, ldb: p.ldb, bBatchStride: 0,
        c, cOffset: 0, ldc: p.ldc, cBatchStride: 0, bf16Dot: true });
      check(p, c, expected(p, true), 'cpu-js bf16Dot');
    }
  });
});
