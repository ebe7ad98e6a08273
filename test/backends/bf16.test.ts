// bfloat16 weights: RNE rounding against known bit patterns (and torch's), bf16-B GEMM against the float32 GEMM
// on the widened values (every backend, every native GEMM implementation), the bf16 embedding gather, argument
// checks, and a bf16 model's forward against the same model with widened float32 weights.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, GemmArgs } from '../../src/backends/backend.js';
import { nativeAddon } from '../../src/backends/cpu-native.js';
import { f32ArrayToBf16Bits, f32ToBf16Bits, bf16BitsArrayToF32 } from '../../src/util/bf16.js';
import { Parameter, Tensor } from '../../src/tensor/tensor.js';
import { castToBf16 } from '../../src/tensor/precision.js';
import { createModel, parseConfig, initWeights } from '../../src/models/index.js';
import { linear, matmul, embedding, rmsNorm, exp } from '../../src/ops/index.js';
import { noGrad } from '../../src/autograd/tape.js';
import { generate } from '../../src/models/generate.js';
import { Rng } from '../../src/util/rng.js';
import { BACKENDS } from '../backends-under-test.js';
import { repoRoot } from '../helpers.js';

const fx = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/bf16.json'), 'utf8'));
const isBf16NaN = (h: number) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;

describe('bfloat16 rounding (round to nearest even)', () => {
  const cases: [number, number][] = [
    [0x3f800000, 0x3f80], // 1.0
    [0x3f808000, 0x3f80], // tie, even below: down
    [0x3f818000, 0x3f82], // tie, odd below: up
    [0x3f808001, 0x3f81], // just above a tie: up
    [0x3f80ffff, 0x3f81],
    [0x7f800000, 0x7f80], // +Inf
    [0xff800000, 0xff80], // -Inf
    [0x80000000, 0x8000], // -0
    [0x7f7fffff, 0x7f80], // largest float32 rounds to Inf
    [0x7f7f8000, 0x7f80], // tie at the top, odd: Inf
    [0x7f7f7fff, 0x7f7f],
    [0x00008000, 0x0000], // subnormal tie, even: down
    [0x00018000, 0x0002], // subnormal tie, odd: up
    [0x00000001, 0x0000],
  ];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  it('known bit patterns: ties, Inf, -0, overflow, subnormals (scalar and array)', () => {
    for (const [inBits, outBits] of cases) {
      u[0] = inBits;
      expect(f32ToBf16Bits(f[0]!).toString(16)).toBe(outBits.toString(16));
      expect(f32ArrayToBf16Bits(Float32Array.from(f))[0]!.toString(16)).toBe(outBits.toString(16));
    }
  });
  it('NaN stays NaN (quiet, sign kept), signalling NaNs never become Inf', () => {
    for (const nan of [0x7fc00000, 0xffc00001, 0x7f800001, 0xff800001, 0x7fffffff]) {
      u[0] = nan;
      const h = f32ArrayToBf16Bits(Float32Array.from(f))[0]!;
      expect(isBf16NaN(h)).toBe(true);
      expect(h >>> 15).toBe(nan >>> 31);
    }
  });
  it("matches torch's .to(torch.bfloat16) on the fixture's patterns (NaN as NaN) and on every initial weight", () => {
    const pin = new Uint32Array(fx.rounding.in);
    const ours = f32ArrayToBf16Bits(new Float32Array(pin.buffer));
    fx.rounding.out.forEach((h: number, i: number) => {
      if (isBf16NaN(h)) expect(isBf16NaN(ours[i]!)).toBe(true); // torch's vectorised path writes 0xffff
      else expect(ours[i]).toBe(h);
    });
    for (const [name, vals] of Object.entries(fx.init as Record<string, number[]>)) {
      expect(Array.from(f32ArrayToBf16Bits(Float32Array.from(vals))), name).toEqual(fx.initBf16[name]);
    }
  });
});

function randF32(r: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r.normal();
  return a;
}

type GemmCase = Omit<GemmArgs, 'a' | 'b' | 'c'> & { aLen: number; bLen: number; cLen: number };
function gemmCases(): GemmCase[] {
  const out: GemmCase[] = [];
  const sizes: [number, number, number][] = [[1, 1, 1], [5, 17, 3], [7, 33, 300], [13, 64, 40], [6, 16, 257], [37, 100, 9]];
  for (const [M, N, K] of sizes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const batch of [1, 3]) {
          const lda = (transA ? M : K) + 2, ldb = (transB ? K : N) + 1, ldc = N + 3;
          const aRows = transA ? K : M, bRows = transB ? N : K;
          const aStride = aRows * lda, bStride = batch === 3 && M % 2 ? 0 : bRows * ldb, cStride = M * ldc;
          out.push({
            transA, transB, M, N, K, alpha: batch === 3 ? 0.5 : 1, beta: transA ? 0.25 : 0, batch,
            aOffset: 1, lda, aBatchStride: aStride, bOffset: 3, ldb, bBatchStride: bStride, cOffset: 2, ldc, cBatchStride: cStride,
            aLen: 1 + batch * aStride, bLen: 3 + Math.max(1, batch * bStride) + bRows * ldb, cLen: 2 + batch * cStride,
          });
        }
      }
    }
  }
  return out;
}

/** Runs a case with bf16 B and with float32 B holding the widened values; returns both C's. */
function runBoth(backend: Backend, c: GemmCase, seed: number): [Float32Array, Float32Array] {
  const r = new Rng(seed);
  const a = randF32(r, c.aLen);
  const bh = f32ArrayToBf16Bits(randF32(r, c.bLen));
  const bw = bf16BitsArrayToF32(bh);
  const c0 = randF32(r, c.cLen);
  const c1 = Float32Array.from(c0), c2 = Float32Array.from(c0);
  backend.gemm({ ...c, a, b: bh, c: c1 });
  backend.gemm({ ...c, a, b: bw, c: c2 });
  return [c1, c2];
}

describe.each(BACKENDS)('bf16 GEMM and gather on %s', (name, backend) => {
  const impls = name === 'cpu-native'
    ? ['builtin', 'portable', 'reference', ...(nativeAddon().gemmInfo().openblasAvailable ? ['openblas', 'openblas-panels'] : [])] as const
    : ['default'] as const;
  afterAll(() => {
    if (name !== 'cpu-native') return;
    nativeAddon().setGemmImpl('auto');
    nativeAddon().setBf16Gemm('builtin');
  });
  for (const impl of impls) {
    it(`GEMM with bf16 B equals the float32 GEMM on the widened values (${impl})`, () => {
      if (impl !== 'default') {
        nativeAddon().setGemmImpl(impl === 'openblas-panels' ? 'openblas' : impl as 'builtin');
        nativeAddon().setBf16Gemm(impl === 'openblas-panels' ? 'panels' : 'builtin');
      }
      let seed = 1;
      for (const c of gemmCases()) {
        const [got, want] = runBoth(backend, c, seed++);
        if (impl === 'openblas' || impl === 'openblas-panels') {
          // bf16 goes to the built-in kernel (default route) or to OpenBLAS on column panels, which may block K
          // differently from the whole float32 call: float32 rounding only.
          for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!)) * Math.sqrt(c.K));
        } else {
          expect(got).toEqual(want); // the same kernel on the same values: bit-identical
        }
      }
    });
  }
  it('a large GEMM (several packing blocks and OpenBLAS panels) matches too', () => {
    const c: GemmCase = {
      transA: false, transB: true, M: 40, N: 700, K: 1100, alpha: 1, beta: 0, batch: 1,
      aOffset: 0, lda: 1100, aBatchStride: 0, bOffset: 0, ldb: 1100, bBatchStride: 0, cOffset: 0, ldc: 700, cBatchStride: 0,
      aLen: 40 * 1100, bLen: 700 * 1100, cLen: 40 * 700,
    };
    const [got, want] = runBoth(backend, c, 99);
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!)) * 33);
  });
  it('embedding gathers bf16 rows widened exactly', () => {
    const w = f32ArrayToBf16Bits(randF32(new Rng(3), 10 * 7));
    const ids = Int32Array.from([3, 0, 9, 3]);
    const out = new Float32Array(4 * 7);
    backend.embedding(w, ids, 4, 7, out);
    const wide = bf16BitsArrayToF32(w);
    for (let i = 0; i < 4; i++) expect(Array.from(out.subarray(i * 7, i * 7 + 7))).toEqual(Array.from(wide.subarray(ids[i]! * 7, ids[i]! * 7 + 7)));
  });
  it('ops: linear/matmul/embedding/rmsNorm take a bf16 weight; other ops reject it with a DTypeError', () => {
    const r = new Rng(5);
    const x = Tensor.empty([3, 8], { backend });
    (x.buf as Float32Array).set(randF32(r, 24));
    const wf = Tensor.empty([5, 8], { backend });
    (wf.buf as Float32Array).set(bf16BitsArrayToF32(f32ArrayToBf16Bits(randF32(r, 40))));
    const wb = Parameter.fromBf16Bits('w', f32ArrayToBf16Bits(wf.buf as Float32Array), [5, 8], { backend, requiresGrad: false });
    expect(linear(x, wb).toArray()).toEqual(linear(x, wf).toArray());
    expect(matmul(x, wb, { transB: true }).toArray()).toEqual(matmul(x, wf, { transB: true }).toArray());
    expect(embedding(wb, Int32Array.from([4, 1]), [2]).toArray()).toEqual(embedding(wf, Int32Array.from([4, 1]), [2]).toArray());
    const nw = Tensor.empty([8], { backend });
    (nw.buf as Float32Array).set(bf16BitsArrayToF32(f32ArrayToBf16Bits(randF32(r, 8))));
    const nb = Parameter.fromBf16Bits('n', f32ArrayToBf16Bits(nw.buf as Float32Array), [8], { backend, requiresGrad: false });
    expect(rmsNorm(x, nb).toArray()).toEqual(rmsNorm(x, nw).toArray());
    expect(() => exp(wb)).toThrow(/bfloat16/);
    expect(() => matmul(wb, x, { transB: true })).toThrow(/bfloat16|float32/);
  });
});

describe.runIf(BACKENDS.some(([n]) => n === 'cpu-native'))('bf16 arguments at the addon boundary', () => {
  it('gemm takes bf16 bits only as b, bounds-checked; embedding checks bf16 weight length', () => {
    const N = nativeAddon();
    expect(N.gemmInfo().bf16Route).toBe('builtin');
    expect(() => N.setBf16Gemm('fast' as 'builtin')).toThrow(/route must be 'builtin' or 'panels'/);
    const f = (n: number) => new Float32Array(n);
    const h = (n: number) => new Uint16Array(n);
    expect(() => N.gemm(false, false, 2, 2, 2, 1, 0, 1, h(4) as unknown as Float32Array, 0, 2, 0, f(4), 0, 2, 0, f(4), 0, 2, 0)).toThrow(/a must be a Float32Array/);
    expect(() => N.gemm(false, false, 2, 2, 2, 1, 0, 1, f(4), 0, 2, 0, f(4), 0, 2, 0, h(4) as unknown as Float32Array, 0, 2, 0)).toThrow(/c must be a Float32Array/);
    expect(() => N.gemm(false, false, 2, 2, 2, 1, 0, 1, f(4), 0, 2, 0, h(3), 0, 2, 0, f(4), 0, 2, 0)).toThrow(/operand b: matrix extends past the end/);
    expect(() => N.gemm(false, true, 2, 3, 2, 1, 0, 1, f(4), 0, 2, 0, h(6), 1, 2, 0, f(6), 0, 3, 0)).toThrow(RangeError);
    expect(() => N.gemm(false, false, 2, 2, 2, 1, 0, 1, f(4), 0, 2, 0, new Int16Array(4) as unknown as Uint16Array, 0, 2, 0, f(4), 0, 2, 0)).toThrow(/b must be a Float32Array or \(bfloat16\) Uint16Array/);
    expect(() => N.embedding(h(6), Int32Array.from([2]), 1, 3, f(3))).toThrow(/outside \[0, 2\)/);
  });
});

describe.each(BACKENDS)('bf16 model forward on %s', (_n, backend) => {
  it('equals the same model with the widened float32 weights (GPT-2 and Llama)', () => {
    const llama = parseConfig(fx.config);
    const gpt2 = parseConfig({ model_type: 'gpt2', vocab_size: 40, n_embd: 16, n_layer: 2, n_head: 2, n_positions: 32 });
    for (const cfg of [llama, gpt2]) {
      const a = createModel(cfg, { backend });
      initWeights(a, new Rng(7), 0.3);
      const b = createModel(cfg, { backend });
      for (const [n, p] of a.namedParameters()) (b.getParameter(n).buf as Float32Array).set(bf16BitsArrayToF32(f32ArrayToBf16Bits(p.buf as Float32Array)));
      castToBf16(a.parameters());
      for (const p of a.parameters()) expect(p.dtype).toBe('bfloat16');
      const ids = Int32Array.from({ length: 16 }, (_, i) => (i * 7) % 32);
      const [ya, yb] = noGrad(() => [a.forward(ids, 2, 8).toArray(), b.forward(ids, 2, 8).toArray()]);
      // Bit-identical on cpu-js and with the built-in GEMM; with OpenBLAS loaded, the fp32 model's GEMMs are sgemm
      // while bf16 GEMMs run on the built-in kernel: float32 rounding differences only.
      ya.forEach((v, i) => expect(Math.abs(v - yb[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(yb[i]!))));
      // Generation with a KV cache (bf16 weights read at every step) gives the same greedy tokens.
      const ga = generate(a, [1, 2, 3], { maxNewTokens: 12, temperature: 0, eosIds: [] }).tokens;
      expect(ga).toEqual(generate(b, [1, 2, 3], { maxNewTokens: 12, temperature: 0, eosIds: [] }).tokens);
      a.dispose();
      b.dispose();
    }
  });
});
