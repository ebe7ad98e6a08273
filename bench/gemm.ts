// GEMM benchmark: GFLOPS of each GEMM path of the addon (built-in AVX-512, AVX2 and portable kernels, OpenBLAS)
// at 1 and 2 threads, each as a percentage of the machine's FMA peak measured by the addon itself (fmaPeak: a
// loop of independent FMAs per thread, best over the run). Shapes are GPT-2 small's matmuls at 256 tokens:
// the forward C = A@B and both backward products (dA = dC@B^T, dB = A^T@dC).
// Run: node --import tsx bench/gemm.ts [--min-time=0.2] [--rounds=3] [--only=50257] [--paths=avx512,openblas]
// (LISA_NATIVE_PATH=... loads another build of the addon.)
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from '../src/backends/cpu-native.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = process.env.LISA_NATIVE_PATH ?? join(root, 'build', 'lisa_native.node');
if (!existsSync(addonPath)) {
  console.error(`bench/gemm: ${addonPath} not found; build it with: node scripts/build-native.mjs`);
  process.exit(1);
}
const native = createRequire(import.meta.url)(addonPath) as NativeAddon;

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const minTime = Number(arg('min-time') ?? 0.2);
const rounds = Number(arg('rounds') ?? 3);
const only = arg('only');

// (M, K, N) of the forward product C = A @ B: attention qkv/out, MLP up/down, LM head.
const SHAPES: [number, number, number][] = [[256, 768, 768], [256, 768, 2304], [256, 768, 3072], [256, 3072, 768],
  [256, 768, 50257]];

type Path = 'avx512' | 'avx2' | 'portable' | 'openblas';
type Isa = 'avx512' | 'avx2' | 'portable';
const info = native.gemmInfo();
const supported: Path[] = [...(info.avx512 ? ['avx512' as const] : []), ...(info.avx2 ? ['avx2' as const] : []),
  'portable', ...(info.openblasAvailable ? ['openblas' as const] : [])];
const paths = (arg('paths')?.split(',') as Path[] | undefined)?.filter((p) => supported.includes(p)) ?? supported;
// The peak each path is held to: its own ISA's FMA peak; OpenBLAS the widest ISA's.
const widest: Isa = info.avx512 ? 'avx512' : info.avx2 ? 'avx2' : 'portable';
const isaOf = (p: Path): Isa => (p === 'openblas' ? widest : p);
const THREADS = [1, 2];

interface Product { label: string; transA: boolean; transB: boolean; M: number; N: number; K: number }
function products(M: number, K: number, N: number): Product[] {
  const s = `${M}x${K}x${N}`;
  return [
    { label: `${s} fwd A@B`, transA: false, transB: false, M, N, K },
    { label: `${s} dA dC@B^T`, transA: false, transB: true, M, N: K, K: N },
    { label: `${s} dB A^T@dC`, transA: true, transB: false, M: K, N, K: M },
  ];
}

function randomArray(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

// GFLOPS of fn's fastest call after one warm-up: at least 2 and at most 30 timed calls, until minTime passed.
// The fastest call, like the FMA peak's best run, estimates the speed without other processes' interference
// (on a shared machine a median mostly measures the neighbours).
function time(flops: number, fn: () => void): number {
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 30 && (times.length < 2 || performance.now() - start < minTime * 1000)) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) * 1e-9);
  }
  return (flops / Math.min(...times)) * 1e-9;
}

// Best FMA peak seen for each ISA and thread count; re-measured every round (other processes only lower it).
const peak: Record<string, number> = {};
function measurePeaks(): void {
  for (const t of THREADS) {
    for (const isa of new Set(paths.map(isaOf))) {
      const key = `${isa}${t}`;
      peak[key] = Math.max(peak[key] ?? 0, native.fmaPeak(t, isa));
    }
  }
}

console.log(`CPU: ${cpus()[0]?.model ?? '?'}, ${cpus().length} logical cores; gemmInfo ${JSON.stringify(info)}`);
console.log(`GEMM GFLOPS and % of the measured FMA peak of the path's ISA (OpenBLAS: the widest, ${widest}); ` +
  `fastest call of ${rounds} interleaved rounds of >= ${minTime}s each`);
const cols = THREADS.flatMap((t) => paths.map((p) => `${p} ${t}t`));
console.log(['shape (M,K,N) product'.padEnd(26), ...cols.map((c) => c.padStart(16))].join(''));

const fmt = (g: number | undefined, pk: number | undefined) =>
  g === undefined ? '-' : `${g.toFixed(1)} (${((100 * g) / (pk ?? NaN)).toFixed(0)}%)`;
const rows: Record<string, number>[] = [];
const savedThreads = native.getNumThreads();
const savedInfo = native.gemmInfo();
for (const [M, K, N] of SHAPES) {
  if (only && !`${M}x${K}x${N}`.includes(only)) continue;
  const A = randomArray(M * K), B = randomArray(K * N), dC = randomArray(M * N);
  const out = { fwd: new Float32Array(M * N), dA: new Float32Array(M * K), dB: new Float32Array(K * N) };
  for (const p of products(M, K, N)) {
    // Operands exactly as the training step passes them.
    const [a, b, c] = !p.transA && !p.transB ? [A, B, out.fwd] : p.transB ? [dC, B, out.dA] : [A, dC, out.dB];
    const lda = p.transA ? p.M : p.K, ldb = p.transB ? p.K : p.N;
    const call = () => native.gemm(p.transA, p.transB, p.M, p.N, p.K, 1, 0, 1, a, 0, lda, 0, b, 0, ldb, 0, c, 0, p.N, 0);
    const flops = 2 * p.M * p.N * p.K;
    // Every cell is measured in each round, the paths interleaved, and the best round kept.
    const r: Record<string, number> = {};
    for (let round = 0; round < rounds; round++) {
      measurePeaks();
      for (const t of THREADS) {
        native.setNumThreads(t);
        for (const path of paths) {
          native.setGemmImpl(path);
          r[`${path}${t}`] = Math.max(r[`${path}${t}`] ?? 0, time(flops, call));
        }
      }
    }
    native.setGemmImpl('auto');
    native.setNumThreads(savedThreads);
    rows.push(r);
    console.log([p.label.padEnd(26), ...THREADS.flatMap((t) => paths.map((path) =>
      fmt(r[`${path}${t}`], peak[`${isaOf(path)}${t}`]).padStart(16)))].join(''));
  }
}
console.log(`measured FMA peak (GFLOPS): ${Object.entries(peak).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
// Summary: per path and thread count, the FLOP-weighted... kept simple: the geometric mean and the minimum.
for (const t of THREADS) {
  const parts = paths.map((path) => {
    const pct = rows.map((r) => (100 * r[`${path}${t}`]!) / peak[`${isaOf(path)}${t}`]!);
    const geo = Math.exp(pct.reduce((s, x) => s + Math.log(x), 0) / pct.length);
    return `${path} ${geo.toFixed(0)}% (min ${Math.min(...pct).toFixed(0)}%)`;
  });
  console.log(`${t} thread${t > 1 ? 's' : ''}, % of peak, geometric mean over the products: ${parts.join(', ')}`);
}
if (savedInfo.impl !== native.gemmInfo().impl) console.warn('bench/gemm: GEMM impl not restored');
