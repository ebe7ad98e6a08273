// cpu-native: the Backend on the C++ addon (build/lisa_native.node). Thin glue: shapes and strides are packed
// into a reused Float64Array, op names become small integer codes, and every call goes straight to the addon.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { AttentionArgs, AttnHeads, Backend, Bf16Buf, BinaryOp, Buf, DType, GemmArgs, UnaryOp } from './backend.js';
import { BINARY_OPS, UNARY_OPS } from './backend.js';
import { BackendError } from '../util/errors.js';

type F32 = Float32Array;

/** The addon's exports (native/kernels.cpp, native/kernels_bind_rows.cpp, native/gemm.cpp, native/threadpool.cpp). */
export interface NativeAddon {
  /** b may be a Uint16Array of bfloat16 bits (widened while packing; OpenBLAS gets widened row panels).
   *  bf16Dot: a (and a float32 b) are rounded to bfloat16 and the bf16 dot-product kernel runs (GemmArgs.bf16Dot). */
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, beta: number,
    batch: number, a: F32, aOffset: number, lda: number, aBatchStride: number,
    b: F32 | Bf16Buf, bOffset: number, ldb: number, bBatchStride: number,
    c: F32, cOffset: number, ldc: number, cBatchStride: number, bf16Dot?: boolean,
    triangle?: number, triangleOffset?: number, cLowerOffset?: number, bias?: F32): void;
  /** impl: what a GEMM runs now; isa: the kernels' ISA level (the CPU's, capped by LISA_CPU / setCpuLevel). */
  gemmInfo(): {
    impl: string; isa: 'avx512' | 'avx2' | 'portable'; openblasAvailable: boolean; avx2: boolean; avx512: boolean;
    avx512bf16: boolean; threads: number; bf16Route: 'builtin' | 'panels';
    bf16Kernel: 'avx512-bf16dot' | 'bf16dot-emulated';
  };
  /** Where bfloat16-B GEMMs go when OpenBLAS is the GEMM: the built-in kernel (default) or widened OpenBLAS panels. */
  setBf16Gemm(route: 'builtin' | 'panels'): void;
  setGemmImpl(name: 'auto' | 'openblas' | 'builtin' | 'avx512' | 'avx2' | 'portable' | 'reference'): void;
  /** Caps the ISA of every kernel (LISA_CPU at load does the same). */
  setCpuLevel(name: 'avx512' | 'avx2' | 'portable'): void;
  /** Measured fp32 FMA peak in GFLOPS on `threads` threads, at `isa` (default: the widest allowed). */
  fmaPeak(threads: number, isa?: 'avx512' | 'avx2' | 'portable'): number;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  kernelInfo(): { impl: 'avx512' | 'avx2' | 'portable'; avx2: boolean; avx512: boolean; unaryOps: string[]; binaryOps: string[] };
  /** Switches the non-GEMM kernel table; false when unknown or unsupported on this CPU. */
  setKernelImpl(name: 'avx512' | 'avx2' | 'portable'): boolean;
  /** meta = [shape, srcStrides, dstStrides] (3*rank values). */
  copyStrided(src: F32, srcOffset: number, dst: F32, dstOffset: number, rank: number, meta: Float64Array): void;
  fill(out: F32, value: number): void;
  unary(op: number, x: F32, out: F32, n: number, alpha: number, beta: number): void;
  /** meta = [shape, aStrides, bStrides] (3*rank values). */
  binary(op: number, a: F32, aOffset: number, b: F32, bOffset: number, out: F32, rank: number,
    meta: Float64Array): void;
  /** meta = [shape, keep as 0/1] (2*rank values). */
  sumReduce(x: F32, out: F32, rank: number, meta: Float64Array): void;
  sumSquares(x: F32, n: number): number;
  softmax(x: F32, out: F32, rows: number, cols: number, causalT: number): void;
  softmaxBackward(y: F32, g: F32, dx: F32, rows: number, cols: number): void;
  /** meta = [B, nkv, GT, T, Tk, hs, scale, causal, then offset, ld, hStride, bStride of q, k, v, out]. */
  attentionForward(meta: Float64Array, q: F32, k: F32, v: F32, out: F32, stats: F32): void;
  /** meta = [the 8 dims, then the layouts of q, k, v, g, dq, dk, dv]. */
  attentionBackward(meta: Float64Array, q: F32, k: F32, v: F32, stats: F32, g: F32, dq: F32 | null, dk: F32 | null,
    dv: F32 | null): void;
  crossEntropy(logits: F32, targets: Int32Array, rows: number, V: number, ignoreIndex: number, losses: F32,
    lse: F32): void;
  crossEntropyBackward(logits: F32, lse: F32, targets: Int32Array, rows: number, V: number, ignoreIndex: number,
    scale: F32, dlogits: F32): void;
  layerNorm(x: F32, w: F32, b: F32 | null, rows: number, C: number, eps: number, y: F32, mean: F32, rstd: F32): void;
  layerNormBackward(x: F32, w: F32, mean: F32, rstd: F32, gy: F32, rows: number, C: number,
    dx: F32 | null, dw: F32 | null, db: F32 | null): void;
  rmsNorm(x: F32, w: F32, rows: number, C: number, eps: number, y: F32, rstd: F32): void;
  rmsNormBackward(x: F32, w: F32, rstd: F32, gy: F32, rows: number, C: number, dx: F32 | null, dw: F32 | null): void;
  rope(x: F32, cos: F32, sin: F32, outer: number, T: number, hs: number, halfSplit: boolean, inverse: boolean,
    out: F32): void;
  embedding(weight: F32 | Bf16Buf, ids: Int32Array, n: number, C: number, out: F32): void;
  embeddingBackward(ids: Int32Array, g: F32, n: number, C: number, dweight: F32): void;
  adamw(p: F32, g: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, step: number): void;
  /** meta = [n, weightDecay, step] per tensor. */
  adamwMany(ps: F32[], gs: F32[], ms: F32[], vs: F32[], meta: Float64Array, lr: number, beta1: number, beta2: number,
    eps: number, gradScale: number): void;
  /** native/interrupt.cpp: catch SIGINT/SIGTERM into a flag (a second signal exits at once), read it, restore. */
  interruptInstall(): void;
  interruptPending(): number;
  interruptRestore(): void;
  /** MADV_HUGEPAGE on the 2 MiB-aligned part of a's memory (memory.cpp); returns the bytes advised. */
  adviseHugePages(a: ArrayBufferView): number;
  /** native/bf16_cast.cpp: float32 -> bfloat16 bits (RNE) and back, on the thread pool. */
  castBf16(src: F32, dst: Bf16Buf, n: number): void;
  widenBf16(src: Bf16Buf, dst: F32, n: number): void;
}

/** Every function of NativeAddon: an addon built from older sources lacks some and is refused at load. */
const ADDON_FUNCTIONS = ['gemm', 'gemmInfo', 'setBf16Gemm', 'setGemmImpl',
  'setCpuLevel', 'fmaPeak', 'setNumThreads', 'getNumThreads', 'kernelInfo', 'setKernelImpl', 'copyStrided', 'fill',
  'unary', 'binary', 'sumReduce', 'sumSquares', 'softmax', 'softmaxBackward', 'attentionForward',
  'attentionBackward', 'crossEntropy', 'crossEntropyBackward', 'layerNorm', 'layerNormBackward', 'rmsNorm',
  'rmsNormBackward', 'rope', 'embedding', 'embeddingBackward', 'adamw', 'adamwMany', 'interruptInstall',
  'interruptPending', 'interruptRestore', 'adviseHugePages', 'castBf16', 'widenBf16'] as const satisfies readonly (keyof NativeAddon)[];
// A compile error when a NativeAddon function is missing from the list above.
const everyFunctionListed: Exclude<keyof NativeAddon, (typeof ADDON_FUNCTIONS)[number]> extends never ? true : never = true;
void everyFunctionListed;

/** Integer op codes passed to the addon: the index in UNARY_OPS / BINARY_OPS (native/kernels.h mirrors them). */
export const UNARY_CODE = Object.fromEntries(UNARY_OPS.map((op, i) => [op, i])) as Record<UnaryOp, number>;
export const BINARY_CODE = Object.fromEntries(BINARY_OPS.map((op, i) => [op, i])) as Record<BinaryOp, number>;
/** GemmArgs.triangle as the addon's code (native/gemm_impl.h kTriLower, kTriUpper). */
const TRIANGLE_CODE = { lower: 1, upper: 2 } as const;
const HUGE_PAGE_MIN_BYTES = 2 * 1024 * 1024;

/** build/lisa_native.node, two levels above this file in both src/backends and dist/backends; LISA_NATIVE_ADDON
 *  names another build (the sanitizer build of `npm run test:sanitize`). */
export const NATIVE_ADDON_PATH = process.env.LISA_NATIVE_ADDON ?? fileURLToPath(new URL('../../build/lisa_native.node', import.meta.url));

let tried = false;
let addon: NativeAddon | null = null;
let backend: Backend | null = null;
let reason = 'not loaded yet';

function tryLoad(): void {
  if (tried) return;
  tried = true;
  try {
    const m = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
    const missing = ADDON_FUNCTIONS.filter((k) => typeof m[k] !== 'function');
    if (missing.length > 0) {
      reason = `${NATIVE_ADDON_PATH} lacks ${missing.join(', ')} (built from older sources); rebuild it with 'node scripts/build-native.mjs'`;
      return;
    }
    const info = m.kernelInfo();
    const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    if (!same(info.unaryOps, UNARY_OPS) || !same(info.binaryOps, BINARY_OPS)) {
      reason = `${NATIVE_ADDON_PATH} was built with different op codes; rebuild it with 'node scripts/build-native.mjs'`;
      return;
    }
    addon = m;
    backend = makeBackend(m);
    reason = '';
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    reason = `could not load ${NATIVE_ADDON_PATH} (${msg}); build it with 'node scripts/build-native.mjs'`;
  }
}

/** The cpu-native Backend, or null when the addon is missing or unusable (see nativeUnavailableReason()). */
export function loadNativeBackend(): Backend | null {
  tryLoad();
  return backend;
}

/** Why cpu-native is unavailable ('' when it is available). */
export function nativeUnavailableReason(): string {
  tryLoad();
  return reason;
}

/** The raw addon (thread count, GEMM/kernel implementation switches); throws BackendError when unavailable. */
export function nativeAddon(): NativeAddon {
  tryLoad();
  if (!addon) throw new BackendError(`cpu-native backend unavailable: ${reason}`);
  return addon;
}

function makeBackend(N: NativeAddon): Backend {
  // Scratch for shapes/strides, reused across calls (kernels never call back into JS).
  let meta = new Float64Array(48);
  const pack3 = (x: readonly number[], y: readonly number[], z: readonly number[]): Float64Array => {
    const r = x.length;
    if (meta.length < 3 * r) meta = new Float64Array(3 * r);
    for (let d = 0; d < r; d++) {
      meta[d] = x[d]!;
      meta[r + d] = y[d]!;
      meta[2 * r + d] = z[d]!;
    }
    return meta;
  };
  // attention's dims and operand layouts (AttnHeads without the buffer; zeros for a missing gradient).
  const attnMeta = (a: AttentionArgs, heads: readonly (AttnHeads | null)[]): Float64Array => {
    const m = new Float64Array(8 + 4 * heads.length);
    m.set([a.B, a.nkv, a.GT, a.T, a.Tk, a.hs, a.scale, a.causal ? 1 : 0]);
    heads.forEach((h, i) => { if (h) m.set([h.offset, h.ld, h.hStride, h.bStride], 8 + 4 * i); });
    return m;
  };
  // A buffer of 2 MiB or more asks for transparent huge pages before its first touch: a 4 KiB page fault took
  // ~18 us on this project's VMs (loading 4 GB of weights: 20 s of faults), a 2 MiB one replaces 512 of them.
  const hugePages = <T extends ArrayBufferView>(a: T): T => {
    if (a.byteLength >= HUGE_PAGE_MIN_BYTES) N.adviseHugePages(a);
    return a;
  };
  // Callers only pass Float32Array to a backend whose supports('float64') is false.
  const f = (b: Buf): F32 => b as F32;
  const fn = (b: Buf | null): F32 | null => b as F32 | null;
  // A weight operand: float32, or bfloat16 bits that the addon widens as it reads.
  const bf = (b: Buf | Bf16Buf): F32 | Bf16Buf => (b instanceof Uint16Array ? b : f(b));

  return {
    name: 'cpu-native',
    holdsData: true,
    supports: (dtype: DType) => dtype === 'float32',
    alloc(dtype: DType, n: number): Buf {
      if (dtype !== 'float32') throw new BackendError(`cpu-native supports only float32, not ${dtype}`);
      return hugePages(new Float32Array(n));
    },
    allocBits: (n) => hugePages(new Uint16Array(n)),
    castBf16: (src, dst, n) => N.castBf16(f(src), dst, n),
    widenBf16: (src, dst, n) => N.widenBf16(src, f(dst), n),
    // Single values and small reductions read from TypeScript: the buffers are ordinary Float32Arrays.
    read: (buf, i) => buf[i]!,
    write: (buf, offset, values) => buf.set(values, offset),
    sum(x, n) {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i]!;
      return s;
    },
    copyStrided(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape) {
      N.copyStrided(f(src), srcOffset, f(dst), dstOffset, shape.length, pack3(shape, srcStrides, dstStrides));
    },
    fill: (out, value) => N.fill(f(out), value),
    unary: (op, x, out, n, alpha, beta) => N.unary(UNARY_CODE[op], f(x), f(out), n, alpha, beta),
    binary(op, a, aOffset, aStrides, b, bOffset, bStrides, out, shape) {
      N.binary(BINARY_CODE[op], f(a), aOffset, f(b), bOffset, f(out), shape.length, pack3(shape, aStrides, bStrides));
    },
    sumReduce(x, shape, keep, out) {
      const r = shape.length;
      if (meta.length < 2 * r) meta = new Float64Array(2 * r);
      for (let d = 0; d < r; d++) {
        meta[d] = shape[d]!;
        meta[r + d] = keep[d] ? 1 : 0;
      }
      N.sumReduce(f(x), f(out), r, meta);
    },
    sumSquares: (x, n) => N.sumSquares(f(x), n),
    gemm(g: GemmArgs) {
      N.gemm(g.transA, g.transB, g.M, g.N, g.K, g.alpha, g.beta, g.batch,
        f(g.a), g.aOffset, g.lda, g.aBatchStride, bf(g.b), g.bOffset, g.ldb, g.bBatchStride,
        f(g.c), g.cOffset, g.ldc, g.cBatchStride, g.bf16Dot === true,
        g.triangle === undefined ? 0 : TRIANGLE_CODE[g.triangle], g.triangleOffset ?? 0, g.cLowerOffset ?? -1,
        g.bias === undefined ? undefined : f(g.bias));
    },
    softmax: (x, out, rows, cols, causalT) => N.softmax(f(x), f(out), rows, cols, causalT),
    softmaxBackward: (y, g, dx, rows, cols) => N.softmaxBackward(f(y), f(g), f(dx), rows, cols),
    attention: (a, out) =>
      N.attentionForward(attnMeta(a, [a.q, a.k, a.v, out]), f(a.q.buf), f(a.k.buf), f(a.v.buf), f(out.buf), f(a.stats)),
    attentionBackward: (a, g, dq, dk, dv) =>
      N.attentionBackward(attnMeta(a, [a.q, a.k, a.v, g, dq, dk, dv]), f(a.q.buf), f(a.k.buf), f(a.v.buf), f(a.stats),
        f(g.buf), dq && f(dq.buf), dk && f(dk.buf), dv && f(dv.buf)),
    crossEntropy: (logits, targets, rows, V, ignoreIndex, losses, lse) =>
      N.crossEntropy(f(logits), targets, rows, V, ignoreIndex, f(losses), f(lse)),
    crossEntropyBackward: (logits, lse, targets, rows, V, ignoreIndex, scale, dlogits) =>
      N.crossEntropyBackward(f(logits), f(lse), targets, rows, V, ignoreIndex, f(scale), f(dlogits)),
    layerNorm: (x, w, b, rows, C, eps, y, mean, rstd) =>
      N.layerNorm(f(x), f(w), fn(b), rows, C, eps, f(y), f(mean), f(rstd)),
    layerNormBackward: (x, w, mean, rstd, gy, rows, C, dx, dw, db) =>
      N.layerNormBackward(f(x), f(w), f(mean), f(rstd), f(gy), rows, C, fn(dx), fn(dw), fn(db)),
    rmsNorm: (x, w, rows, C, eps, y, rstd) => N.rmsNorm(f(x), f(w), rows, C, eps, f(y), f(rstd)),
    rmsNormBackward: (x, w, rstd, gy, rows, C, dx, dw) =>
      N.rmsNormBackward(f(x), f(w), f(rstd), f(gy), rows, C, fn(dx), fn(dw)),
    rope: (x, cos, sin, outer, T, hs, halfSplit, inverse, out) =>
      N.rope(f(x), f(cos), f(sin), outer, T, hs, halfSplit, inverse, f(out)),
    embedding: (weight, ids, n, C, out) => N.embedding(bf(weight), ids, n, C, f(out)),
    embeddingBackward: (ids, g, n, C, dweight) => N.embeddingBackward(ids, f(g), n, C, f(dweight)),
    adamw: (p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, step) =>
      N.adamw(f(p), f(g), f(m), f(v), n, lr, beta1, beta2, eps, weightDecay, step),
    adamwMany(ts, lr, beta1, beta2, eps, gradScale) {
      const meta3 = new Float64Array(3 * ts.length);
      ts.forEach((t, i) => meta3.set([t.n, t.weightDecay, t.step], 3 * i));
      N.adamwMany(ts.map((t) => f(t.p)), ts.map((t) => f(t.g)), ts.map((t) => f(t.m)), ts.map((t) => f(t.v)), meta3,
        lr, beta1, beta2, eps, gradScale);
    },
  };
}
