// Memory at real sizes: LLaMA-2-7B-shaped LISA and LoRA with bf16 weights, and TinyLlama-1.1B for full, LoRA and
// LISA in fp32 and bf16, each run for real (3 training steps, seq 256, batch 1) in its own process beside the
// meta estimate of the same steps. Prints peak RSS (VmHWM), the Node baseline, the estimate plus baseline, and
// seconds per step.
//   node --import tsx bench/memory-big.ts [--only 7b|tiny] [--steps 3] [--seq 256]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../src/models/index.js';
import { estimateMemory, methodLabel, type MemoryMethod, type RunOptions } from '../src/finetune/memory-estimate.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const steps = Number(arg('steps', '3'));
const seq = Number(arg('seq', '256'));
const only = arg('only', 'all');

const llama = (hidden: number, inter: number, layers: number, heads: number, kv: number) => ({
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 32000, hidden_size: hidden, intermediate_size: inter,
  num_hidden_layers: layers, num_attention_heads: heads, num_key_value_heads: kv, max_position_embeddings: 2048, rms_norm_eps: 1e-5,
});
const MODELS = { 'LLaMA-2-7B': llama(4096, 11008, 32, 32, 32), 'TinyLlama-1.1B': llama(2048, 5632, 22, 32, 4) };
const LISA: MemoryMethod = { kind: 'lisa', gamma: 2 };
const LORA: MemoryMethod = { kind: 'lora', rank: 128, alpha: 256, targets: 'all-linear' };
const FULL: MemoryMethod = { kind: 'full' };
// Checkpointing and the update inside backward, as `lisa train` suggests for a run that does not fit.
const lean = (weightDtype: 'float32' | 'bfloat16'): RunOptions => ({ steps, weightDtype, gradientCheckpointing: true, updateInBackward: true });

const cases: { model: keyof typeof MODELS; method: MemoryMethod; opts: RunOptions }[] = [];
if (only !== 'tiny') cases.push({ model: 'LLaMA-2-7B', method: LISA, opts: lean('bfloat16') }, { model: 'LLaMA-2-7B', method: LORA, opts: lean('bfloat16') });
if (only !== '7b') {
  for (const dtype of ['float32', 'bfloat16'] as const) {
    for (const method of [FULL, LORA, LISA]) cases.push({ model: 'TinyLlama-1.1B', method, opts: lean(dtype) });
  }
}

const GiB = 1024 ** 3;
const g = (b: number) => `${(b / GiB).toFixed(2)}`;
const child = fileURLToPath(new URL('./memory-big-child.ts', import.meta.url));
console.log(`${steps} training steps at batch 1 x seq ${seq}; gradient checkpointing and AdamW inside backward on; GiB\n`);
console.log(['model', 'method', 'weights', 'estimate', 'node base', 'est+base', 'peak RSS', 'RSS/(est+base)', 's/step', 'build s', 'losses'].join(' | '));
for (const c of cases) {
  const config = parseConfig(MODELS[c.model]);
  const est = estimateMemory(config, c.method, { batch: 1, seq }, c.opts);
  const estimate = Math.max(est.peakTogether, est.worstPlacement?.peakTogether ?? 0);
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, JSON.stringify({ config: MODELS[c.model], method: c.method, batch: 1, seq, opts: c.opts })],
    { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) {
    console.log(`${c.model} | ${methodLabel(c.method)} | ${c.opts.weightDtype} | ${g(estimate)} | failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
    continue;
  }
  const m = JSON.parse(line) as { baseline: number; peakRss: number; peakTogether: number; secondsPerStep: number; buildSeconds: number; losses: number[] };
  const expected = estimate + m.baseline;
  console.log([c.model, methodLabel(c.method), c.opts.weightDtype, g(estimate), g(m.baseline), g(expected), g(m.peakRss),
    (m.peakRss / expected).toFixed(3), m.secondsPerStep.toFixed(1), m.buildSeconds.toFixed(1), m.losses.map((l) => l.toFixed(3)).join(' ')].join(' | '));
}
