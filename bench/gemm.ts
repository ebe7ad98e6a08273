// GEMM benchmark: GFLOPS of the addon's built-in kernel and of OpenBLAS through the addon (1 and 2 threads),
// against OpenBLAS called directly from a small C program (bench/gemm_direct.c, compiled here with g++).
// Shapes are GPT-2 small's big matmuls at 256 tokens, forward C = A@B and the two backward products.
// Run: node --import tsx bench/gemm.ts [--min-time=0.25] [--rounds=3] [--only=50257]
// (LISA_NATIVE_PATH=... loads another build of the addon.)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from '../src/backends/cpu-native.js';

type Native = NativeAddon;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = process.env.LISA_NATIVE_PATH ?? join(root, 'build', 'lisa_native.node');
if (!existsSync(addonPath)) {
  console.error(`bench/gemm: ${addonPath} not found; build it with: node scripts/build-native.mjs`);
  process.exit(1);
}
const native = createRequire(import.meta.url)(addonPath) as Native;

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const minTime = Number(arg('min-time') ?? 0.25);
const rounds = Number(arg('rounds') ?? 3);
const only = arg('only');

// (M, K, N) of the forward product C = A @ B.
const SHAPES: [number, number, number][] = [[256, 768, 2304], [256, 768, 3072], [256, 3072, 768], [256, 768, 50257]];

interface Product { label: string; transA: boolean; transB: boolean; M: number; N: number; K: number }
function products(M: number, K: number, N: number): Product[] {
  const s = `${M}x${K}x${N}`;
  return [
    { label: `${s} fwd  A@B`, transA: false, transB: false, M, N, K },
    { label: `${s} dA dC@B^T`, transA: false, transB: true, M, N: K, K: N },
    { label: `${s} dB A^T@dC`, transA: true, transB: false, M: K, N, K: M },
  ];
}

function randomArray(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : 0.5 * (s[h - 1] + s[h]);
}

// Median GFLOPS of fn after one warm-up call: at least 3 and at most 15 timed calls, until minTime passed.
function time(flops: number, fn: () => void): number {
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 15 && (times.length < 3 || performance.now() - start < minTime * 1000)) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) * 1e-9);
  }
  return (flops / median(times)) * 1e-9;
}

// The direct-OpenBLAS baseline: null when g++ or -lopenblas is missing.
function buildDirect(): string | null {
  const exe = join(mkdtempSync(join(tmpdir(), 'lisa-bench-')), 'gemm_direct');
  const r = spawnSync('g++', ['-O2', '-x', 'c++', join(root, 'bench', 'gemm_direct.c'), '-o', exe, '-lopenblas'],
    { encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn(`bench/gemm: direct OpenBLAS baseline skipped (g++ -lopenblas failed):\n${r.stderr}`);
    return null;
  }
  return exe;
}

function runDirect(exe: string, threads: number, p: Product): number {
  const r = spawnSync(exe, [String(threads), String(minTime), p.transA ? '1' : '0', p.transB ? '1' : '0',
    String(p.M), String(p.N), String(p.K)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gemm_direct failed: ${r.stderr}`);
  return Number(r.stdout.trim().split(/\s+/)[5]);
}

const info = native.gemmInfo();
const direct = info.openblasAvailable ? buildDirect() : null;
const builtinName = info.avx2 ? 'avx2' : 'portable';
console.log(`GEMM GFLOPS (best of ${rounds} interleaved rounds of a median over >= ${minTime}s; built-in = ` +
  `${builtinName}; OpenBLAS ${info.openblasAvailable ? 'loaded' : 'missing'})`);

const cols = ['built-in 1t', 'built-in 2t', 'OB addon 1t', 'OB addon 2t', 'OB direct 1t', 'OB direct 2t',
  'bi/OB 2t', 'addon/dir 1t', 'addon/dir 2t'];
const fmt = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
console.log(['shape (M,K,N) product'.padEnd(28), ...cols.map((c) => c.padStart(13))].join(''));

const ratios: Record<string, number[]> = { bi: [], ad1: [], ad2: [] };
const savedThreads = native.getNumThreads();
for (const [M, K, N] of SHAPES) {
  if (only && !`${M}x${K}x${N}`.includes(only)) continue;
  const A = randomArray(M * K), B = randomArray(K * N), dC = randomArray(M * N);
  const out = { fwd: new Float32Array(M * N), dA: new Float32Array(M * K), dB: new Float32Array(K * N) };
  for (const p of products(M, K, N)) {
    // Operands exactly as the training step passes them (see products()).
    const [a, b, c] = !p.transA && !p.transB ? [A, B, out.fwd] : p.transB ? [dC, B, out.dA] : [A, dC, out.dB];
    const lda = p.transA ? p.M : p.K, ldb = p.transB ? p.K : p.N;
    const call = () => native.gemm(p.transA, p.transB, p.M, p.N, p.K, 1, 0, 1, a, 0, lda, 0, b, 0, ldb, 0, c, 0, p.N, 0);
    const flops = 2 * p.M * p.N * p.K;
    // Every cell is measured in each of `rounds` rounds, the variants interleaved, and the best round kept:
    // other processes only ever slow a measurement down, and interleaving spreads their effect evenly.
    const r: Record<string, number> = {};
    const keep = (key: string, v: number) => { r[key] = Math.max(r[key] ?? 0, v); };
    for (let round = 0; round < rounds; round++) {
      for (const t of [1, 2]) {
        native.setNumThreads(t);
        native.setGemmImpl('builtin');
        keep(`bi${t}`, time(flops, call));
        if (info.openblasAvailable) {
          native.setGemmImpl('openblas');
          keep(`ob${t}`, time(flops, call));
        }
        if (direct) keep(`dir${t}`, runDirect(direct, t, p));
      }
    }
    native.setGemmImpl('auto');
    const bi = r.bi2 / r.ob2, ad1 = r.ob1 / r.dir1, ad2 = r.ob2 / r.dir2;
    if (Number.isFinite(bi)) ratios.bi.push(bi);
    if (Number.isFinite(ad1)) ratios.ad1.push(ad1);
    if (Number.isFinite(ad2)) ratios.ad2.push(ad2);
    console.log([p.label.padEnd(28), ...[r.bi1, r.bi2, r.ob1, r.ob2, r.dir1, r.dir2].map((x) => fmt(x).padStart(13)),
      ...[bi, ad1, ad2].map((x) => fmt(x, 2).padStart(13))].join(''));
  }
}
native.setNumThreads(savedThreads);
const geo = (xs: number[]) => (xs.length ? Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length) : NaN);
console.log(`geometric mean: built-in/OpenBLAS at 2 threads ${fmt(geo(ratios.bi), 2)}; OpenBLAS addon/direct ` +
  `${fmt(geo(ratios.ad1), 2)} (1 thread), ${fmt(geo(ratios.ad2), 2)} (2 threads)`);
