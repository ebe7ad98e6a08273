// The optimizer phase of a full GPT-2-small step (clip to norm 1 + AdamW over its 148 tensors), unfused
// (clipGradNorm's in-place scaling, then one adamw call per tensor) against the fused adamwMany call, alternated
// in one process. Prints min/median/max seconds of each.   node --import tsx bench/adamw.ts [--reps 7]
import { getBackend } from '../src/backends/index.js';
import type { AdamWTensor } from '../src/backends/backend.js';
import { Rng } from '../src/util/rng.js';

const reps = process.argv.includes('--reps') ? Number(process.argv[process.argv.indexOf('--reps') + 1]) : 7;
const be = getBackend('cpu-native');
const C = 768, V = 50257;
const sizes = [V * C, 1024 * C, C, C];
for (let l = 0; l < 12; l++) sizes.push(C, C, C * 3 * C, 3 * C, C * C, C, C, C, C * 4 * C, 4 * C, 4 * C * C, C);
const rng = new Rng(0);
const rand = (n: number, s: number) => Float32Array.from({ length: n }, () => s * rng.normal());
const ts: AdamWTensor[] = sizes.map((n) => ({ p: rand(n, 0.02), g: rand(n, 1e-3), m: new Float32Array(n), v: new Float32Array(n), n, weightDecay: 0.01, step: 0 }));
const norm = () => Math.sqrt(ts.reduce((s, t) => s + be.sumSquares(t.g, t.n), 0));
const time = (f: () => void) => { const t = performance.now(); f(); return (performance.now() - t) / 1000; };
const unfused: number[] = [], fused: number[] = [];
for (let r = 0; r < reps; r++) {
  for (const t of ts) t.step++;
  unfused.push(time(() => {
    const coef = Math.min(1, 1 / (norm() + 1e-6));
    for (const t of ts) if (coef < 1) be.unary('affine', t.g, t.g, t.n, coef, 0);
    for (const t of ts) be.adamw(t.p, t.g, t.m, t.v, t.n, 1e-4, 0.9, 0.999, 1e-8, t.weightDecay, t.step);
  }));
  for (const t of ts) t.step++;
  fused.push(time(() => be.adamwMany(ts, 1e-4, 0.9, 0.999, 1e-8, Math.min(1, 1 / (norm() + 1e-6)))));
}
const s = (x: number[]) => { const y = [...x].sort((a, b) => a - b); return `${y[0]!.toFixed(3)} / ${y[y.length >> 1]!.toFixed(3)} / ${y.at(-1)!.toFixed(3)}`; };
console.log(`${ts.length} tensors, ${(sizes.reduce((a, b) => a + b, 0) / 1e6).toFixed(1)}M parameters; seconds min / median / max of ${reps}`);
console.log(`| clip + AdamW | s |\n|---|---|\n| unfused (clip pass + ${ts.length} adamw calls) | ${s(unfused)} |\n| fused (one adamwMany call, clip folded) | ${s(fused)} |`);
