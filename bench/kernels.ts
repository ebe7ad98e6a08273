// Single kernels of a GPT-2-small step (seq 256) timed on the addon alone, for what the step profile cannot
// separate: GELU on each row-kernel table, the 12-head causal P V product with and without the triangle hint (warm,
// and with P and V evicted from the caches as in a step), the LM head's input and chunked weight gradients, and the
// fused attention forward and backward at three sequence lengths.
// Median ms of --reps calls on 2 threads.   node --import tsx bench/kernels.ts [--reps 40]
// LISA_NATIVE_ADDON=<path> times another build of the addon (an older commit's, for a before/after).
import type { AttentionArgs, AttnHeads } from '../src/backends/backend.js';
import { loadNativeBackend, nativeAddon } from '../src/backends/cpu-native.js';

const N = nativeAddon();
N.setNumThreads(2);
const reps = process.argv.includes('--reps') ? Number(process.argv[process.argv.indexOf('--reps') + 1]) : 40;
const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const evict = new Float32Array(16 << 20); // 64 MiB, more than the caches hold
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function time(f: () => void, cold = false, n = reps): string {
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    if (cold) evict.fill(i);
    const t = process.hrtime.bigint();
    f();
    ts.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return `${median(ts).toFixed(3)} ms`;
}

const rows: [string, string][] = [];
// GELU over the MLP's (256, 3072) activations, on each row-kernel table the CPU has.
const GELU = N.kernelInfo().unaryOps.indexOf('gelu');
const x = rand(256 * 3072), y = new Float32Array(x.length);
const initial = N.kernelInfo().impl;
for (const impl of ['avx512', 'avx2', 'portable'] as const) {
  if (N.setKernelImpl(impl)) rows.push([`gelu 256x3072, ${impl} table`, time(() => N.unary(GELU, x, y, x.length, 0, 0))]);
}
N.setKernelImpl(initial);

// P V for 12 heads: P (12, 256, 256) causal probabilities, V (12, 256, 64); triangle 1 = 'lower' (GemmArgs.triangle).
const T = 256, hs = 64, H = 12;
const p = rand(H * T * T), v = rand(H * T * hs), o = new Float32Array(H * T * hs);
for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) p.fill(0, h * T * T + i * T + i + 1, h * T * T + (i + 1) * T);
const pv = (tri: number) => () => N.gemm(false, false, T, hs, T, 1, 0, H, p, 0, T, T * T, v, 0, hs, T * hs, o, 0, hs, T * hs, false, tri, 0);
rows.push(['12 heads P V 256x64x256, full', time(pv(0))]);
rows.push(['12 heads P V 256x64x256, triangle hint', time(pv(1))]);
rows.push(['12 heads P V 256x64x256, full, P and V evicted', time(pv(0), true)]);
rows.push(['12 heads P V 256x64x256, triangle hint, P and V evicted', time(pv(1), true)]);

// The LM head (V = 50257, C = 768): dX = dlogits W for 256 rows, and dW += dlogitsᵀ x for one 333-row chunk (the
// head's chunk size at this vocabulary) accumulating into the (V, C) gradient; caches evicted before each call.
const V = 50257, C = 768, R = 333;
const dl = rand(R * V), w = rand(V * C), h = rand(R * C), dx = new Float32Array(256 * C), dw = new Float32Array(V * C);
for (const bf16 of [false, true]) {
  const tag = bf16 ? 'bf16 dot' : 'fp32';
  rows.push([`head dX 256x768x50257, ${tag}`, time(() => N.gemm(false, false, 256, C, V, 1, 0, 1, dl, 0, V, 0, w, 0, C, 0, dx, 0, C, 0, bf16), true, 8)]);
  rows.push([`head dW chunk 50257x768x333 (beta 1), ${tag}`, time(() => N.gemm(true, false, V, C, R, 1, 1, 1, dl, 0, V, 0, h, 0, C, 0, dw, 0, C, 0, bf16), true, 8)]);
}

// Fused attention (Backend.attention / attentionBackward) over GPT-2's packed c_attn output, 12 heads of 64, causal:
// seq 256 x 1 (the step bench's shape), seq 512 x 4, and seq 2048 (row blocks of 64 rows).
const be = loadNativeBackend()!;
for (const [B, T] of [[1, 256], [4, 512], [1, 2048]] as const) {
  const C = H * hs;
  const qkv = rand(B * T * 3 * C), gqkv = new Float32Array(qkv.length), out = new Float32Array(B * T * C), g = rand(B * T * C);
  const part = (buf: Float32Array, i: number): AttnHeads => ({ buf, offset: i * C, ld: 3 * C, hStride: hs, bStride: T * 3 * C });
  const merged = (buf: Float32Array): AttnHeads => ({ buf, offset: 0, ld: C, hStride: hs, bStride: T * C });
  const a: AttentionArgs = { B, nkv: H, GT: T, T, Tk: T, hs, scale: 1 / Math.sqrt(hs), causal: true,
    q: part(qkv, 0), k: part(qkv, 1), v: part(qkv, 2), stats: new Float32Array(B * H * T * 2) };
  const n = T > 512 ? 8 : reps;
  rows.push([`fused attention forward, 12 heads, seq ${T} x ${B}`, time(() => be.attention(a, merged(out)), false, n)]);
  rows.push([`fused attention backward, 12 heads, seq ${T} x ${B}`,
    time(() => be.attentionBackward(a, merged(g), part(gqkv, 0), part(gqkv, 1), part(gqkv, 2)), false, n)]);
}

console.log(`addon: ${process.env.LISA_NATIVE_ADDON ?? 'build/lisa_native.node'}; GEMM ${N.gemmInfo().impl}, 2 threads; median of ${reps} calls (8 for the head and seq 2048)\n`);
console.log('| kernel | median |\n|---|---|');
for (const [k, t] of rows) console.log(`| ${k} | ${t} |`);
