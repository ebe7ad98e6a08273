// One training step (forward + backward + AdamW) of a GPT-2-shaped model: lisa-tune (cpu-native) against
// PyTorch (Debian's /usr/bin/python3, same shapes, same threads), in one run. Prints a table of median times.
//   node --import tsx bench/train-step.ts [--layers 12] [--seq 128] [--batch 2] [--steps 3]
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createModel, parseConfig, initWeights } from '../src/models/index.js';
import { scope } from '../src/tensor/scope.js';
import { backward } from '../src/autograd/backward.js';
import { crossEntropy } from '../src/ops/index.js';
import { AdamW } from '../src/optim/adamw.js';
import { Rng } from '../src/util/rng.js';
import { nativeAvailable, setDefaultBackend } from '../src/backends/index.js';

const arg = (name: string, d: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : d);
const L = arg('layers', 12), T = arg('seq', 128), B = arg('batch', 2), steps = arg('steps', 3);
const C = 768, nh = 12, V = 50257;
if (!nativeAvailable()) throw new Error('bench/train-step needs the native addon (npm install builds it)');
setDefaultBackend('cpu-native');

function ours(threads: number): number {
  process.env.LISA_NUM_THREADS = String(threads);
  const model = createModel(parseConfig({ model_type: 'gpt2', vocab_size: V, n_positions: 1024, n_embd: C, n_layer: L, n_head: nh }));
  initWeights(model, new Rng(0));
  const opt = new AdamW({ lr: 1e-4 });
  const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % V);
  const step = () => {
    scope(() => backward(crossEntropy(model.forward(ids, B, T), ids)));
    opt.step(model.parameters());
    for (const p of model.parameters()) p.zeroGrad();
  };
  step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    step();
    times.push((performance.now() - t) / 1000);
  }
  opt.dispose();
  model.dispose();
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

function torch(threads: number): number {
  const out = execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'train_step_torch.py'), ...[L, C, nh, V, T, B, steps, threads].map(String)], { encoding: 'utf8' });
  return JSON.parse(out).seconds;
}

const native = (await import('../src/backends/cpu-native.js')).nativeAddon();
console.log(`GPT-2-shaped model: ${L} layers, C ${C}, V ${V}; batch ${B} x seq ${T}; median of ${steps} steps (forward + backward + AdamW)`);
console.log('threads  lisa-tune s  pytorch s  lisa/pytorch');
for (const threads of [1, 2]) {
  native.setNumThreads(threads);
  const a = ours(threads);
  const b = torch(threads);
  console.log(`${String(threads).padStart(7)}  ${a.toFixed(2).padStart(11)}  ${b.toFixed(2).padStart(9)}  ${(a / b).toFixed(2).padStart(12)}`);
}
