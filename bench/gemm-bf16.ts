// bf16-weight GEMM benchmark: y = x Wᵀ (nn.Linear layout, W (N, K)) with W float32 or bfloat16 bits, under the
// built-in kernel (bf16 widened while packing), the bf16 dot-product kernel (bf16Dot: x rounded to bf16 too,
// vdpbf16ps; with a bf16 W, and with an fp32 W rounded while packing) and OpenBLAS (fp32; bf16 widened in column panels, one sgemm each, the 'panels' route, which the
// addon does not take by default). Shapes are GPT-2 small's and TinyLlama-1.1B's linears at 256 tokens.
// Prints GFLOP/s, best of rounds.
// Run: node --import tsx bench/gemm-bf16.ts [--min-time=0.3] [--rounds=3] [--threads=n]
import { nativeAddon } from '../src/backends/cpu-native.js';
import { f32ArrayToBf16Bits } from '../src/util/bf16.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const minTime = Number(arg('min-time') ?? 0.3);
const rounds = Number(arg('rounds') ?? 3);
const N = nativeAddon();
if (arg('threads')) N.setNumThreads(Number(arg('threads')));
const info = N.gemmInfo();
// (M tokens, K in, N out)
const SHAPES: [number, number, number][] = [[256, 768, 2304], [256, 768, 3072], [256, 3072, 768], [256, 2048, 2048],
  [256, 2048, 5632], [256, 5632, 2048]];

function gflops(M: number, K: number, Nn: number, w: Float32Array | Uint16Array, x: Float32Array, y: Float32Array,
  bf16Dot = false): number {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let iters = 0;
    const t0 = performance.now();
    let dt = 0;
    do {
      N.gemm(false, true, M, Nn, K, 1, 0, 1, x, 0, K, 0, w, 0, K, 0, y, 0, Nn, 0, bf16Dot);
      iters++;
      dt = (performance.now() - t0) / 1000;
    } while (dt < minTime);
    best = Math.max(best, (2 * M * K * Nn * iters) / dt / 1e9);
  }
  return best;
}

console.log(`threads ${info.threads}, isa ${info.isa}, bf16 dot kernel ${info.bf16Kernel}, OpenBLAS ` +
  `${info.openblasAvailable ? 'loaded' : 'not loaded'}`);
const impls: ('builtin' | 'openblas')[] = ['builtin', ...(info.openblasAvailable ? ['openblas' as const] : [])];
console.log(`${'M x K x N'.padEnd(18)} ${impls.map((i) => `${i} f32`.padStart(14) + `${i} bf16`.padStart(15)).join('')}` +
  `${'bf16Dot'.padStart(12)}${'dot/f32'.padStart(10)}${'dot f32 W'.padStart(12)}${'/f32'.padStart(8)}`);
for (const [M, K, Nn] of SHAPES) {
  const x = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i));
  const wf = Float32Array.from({ length: Nn * K }, (_, i) => Math.cos(i) * 0.02);
  const wb = f32ArrayToBf16Bits(wf);
  const y = new Float32Array(M * Nn);
  const cols: string[] = [];
  for (const impl of impls) {
    N.setGemmImpl(impl);
    N.setBf16Gemm(impl === 'openblas' ? 'panels' : 'builtin');
    cols.push(gflops(M, K, Nn, wf, x, y).toFixed(1).padStart(14), gflops(M, K, Nn, wb, x, y).toFixed(1).padStart(15));
  }
  N.setGemmImpl('builtin');
  const dot = gflops(M, K, Nn, wb, x, y, true);
  const dotF = gflops(M, K, Nn, wf, x, y, true);
  const f32 = Number(cols[0]);
  console.log(`${`${M}x${K}x${Nn}`.padEnd(18)} ${cols.join('')}${dot.toFixed(1).padStart(12)}${(dot / f32).toFixed(2).padStart(10)}` +
    `${dotF.toFixed(1).padStart(12)}${(dotF / f32).toFixed(2).padStart(8)}`);
}
N.setGemmImpl('auto');
N.setBf16Gemm('builtin');
