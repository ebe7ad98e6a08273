// Soak: a 1,000-step LISA run (saves every 50 steps, evals every 100) on a small Llama, in this process, sampling
// RSS and the engine's live tensors (count and bytes) after every step; then the same run for 100 steps. Prints
// a table and whether each series is flat within 2% after warm-up. RSS climbs during the first few hundred
// steps while V8 grows its young generation (heap total rises, heap used does not); run with
// `node --max-semi-space-size=1 --import tsx bench/soak.ts` to see RSS flat from the start.
// Run: node --import tsx bench/soak.ts [--steps 1000] [--short 100] [--warmup 300] [--no-packing]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { train } from '../src/train/trainer.js';
import { validateConfig } from '../src/train/config.js';
import { memoryReport } from '../src/tensor/memory.js';
import { pooledBytes } from '../src/tensor/buffer-pool.js';
import { Rng } from '../src/util/rng.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const STEPS = arg('steps', 1000);
const SHORT = arg('short', 100);
const WARMUP = arg('warmup', 300);
/** Packing makes every row exactly 64 tokens; --no-packing leaves 16..64-token rows (many buffer sizes). */
const PACKING = !process.argv.includes('--no-packing');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** A stories260K-shaped Llama (dim 64, 5 layers, 8 heads, 4 kv heads, vocab 512), randomly initialised. */
const MODEL = {
  model_type: 'llama', vocab_size: 512, hidden_size: 64, intermediate_size: 172, num_hidden_layers: 5, num_attention_heads: 8,
  num_key_value_heads: 4, max_position_embeddings: 512, rms_norm_eps: 1e-5, tie_word_embeddings: true,
};

interface Sample { step: number; rssMiB: number; heapMiB: number; heapTotalMiB: number; arrayBuffersMiB: number; liveStorages: number; liveBytes: number; pooled: number }

function sample(step: number): Sample {
  const m = process.memoryUsage();
  const r = memoryReport();
  return { step, rssMiB: m.rss / 2 ** 20, heapMiB: m.heapUsed / 2 ** 20, heapTotalMiB: m.heapTotal / 2 ** 20, arrayBuffersMiB: m.arrayBuffers / 2 ** 20, liveStorages: r.liveStorages, liveBytes: r.liveTotal, pooled: pooledBytes() };
}

async function run(dir: string, data: string, steps: number, label: string): Promise<{ samples: Sample[]; gcSamples: Sample[]; seconds: number }> {
  const cfg = validateConfig({
    model: { init: MODEL },
    data: { path: data, format: 'pretokenized', maxLength: 64, evalSplit: 0.05, packing: PACKING },
    method: { kind: 'lisa', gamma: 2, period: 5 },
    optim: { lr: 1e-3, schedule: 'cosine', warmupSteps: 10 },
    train: { steps, batchSize: 4, saveEvery: 50, evalEvery: 100, logEvery: 1000 },
    out: join(dir, label),
  }, label);
  const samples: Sample[] = [];
  const gcSamples: Sample[] = [];
  const t0 = performance.now();
  await train(cfg, {
    onStep: (m) => {
      samples.push(sample(m.step));
      if (m.step % 50 === 0) { gc(); gcSamples.push(sample(m.step)); }
    },
  });
  return { samples, gcSamples, seconds: (performance.now() - t0) / 1000 };
}

function spread(xs: number[]): { min: number; max: number; pct: number } {
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  return { min, max, pct: min > 0 ? (100 * (max - min)) / min : max === 0 ? 0 : Infinity };
}

const dir = mkdtempSync(join(tmpdir(), 'lisa-soak-'));
try {
  const rng = new Rng(1);
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) lines.push(JSON.stringify({ input_ids: Array.from({ length: 16 + rng.int(49) }, () => rng.int(512)) }));
  const data = join(dir, 'train.jsonl');
  writeFileSync(data, `${lines.join('\n')}\n`);

  const short = await run(dir, data, SHORT, 'short');
  const long = await run(dir, data, STEPS, 'long');

  const fmt = (s: Sample) => `| ${String(s.step).padStart(5)} | ${s.rssMiB.toFixed(1).padStart(8)} | ${s.heapMiB.toFixed(1).padStart(7)} | ${s.heapTotalMiB.toFixed(1).padStart(9)} | ${s.arrayBuffersMiB.toFixed(2).padStart(9)} | ${String(s.liveStorages).padStart(7)} | ${String(s.liveBytes).padStart(10)} | ${String(s.pooled).padStart(9)} |`;
  const header = '|  step |  RSS MiB | heap MiB | heap total MiB | arrayBuf MiB | live tensors | live bytes | pooled bytes |'.replace('heap MiB', 'heapMiB').replace('heap total MiB', 'heapTotMiB').replace('arrayBuf MiB', 'arrBufMiB').replace('live tensors', 'tensors').replace('pooled bytes', 'pooled B');
  console.log(`\n${STEPS}-step LISA run (stories260K-shaped Llama, gamma 2, K 5, batch 4 x 64 tokens${PACKING ? ' packed' : ', 16..64-token rows'}, save every 50, eval every 100): after each step, every 100th shown`);
  console.log(header);
  console.log('|------:|---------:|--------:|----------:|----------:|--------:|-----------:|----------:|');
  for (const s of long.samples) if (s.step === 1 || s.step % 100 === 0) console.log(fmt(s));
  console.log(`\nsame run after a forced GC, every 50th step (separates V8's GC lag from retained memory):`);
  console.log(header);
  console.log('|------:|---------:|--------:|----------:|----------:|--------:|-----------:|----------:|');
  for (const s of long.gcSamples) if (s.step % 100 === 0 || s.step === 50) console.log(fmt(s));

  const after = long.samples.filter((s) => s.step > WARMUP);
  const afterGc = long.gcSamples.filter((s) => s.step > WARMUP);
  const rows: [string, number[]][] = [
    ['RSS MiB (every step)', after.map((s) => s.rssMiB)],
    ['RSS MiB (after GC, every 50)', afterGc.map((s) => s.rssMiB)],
    ['V8 heap used MiB (after GC, every 50)', afterGc.map((s) => s.heapMiB)],
    ['live tensors', after.map((s) => s.liveStorages)],
    ['live bytes', after.map((s) => s.liveBytes)],
  ];
  // Spread: (max - min) / min over the window. Drift: the mean of the last 10% of the window against the mean of
  // its first 10%, i.e. growth rather than GC jitter. A series is flat when its drift is within 2%; the engine's
  // own counts must not move at all.
  console.log(`\nflatness after warm-up (steps ${WARMUP + 1}..${STEPS}), limit 2%:`);
  console.log('| series | min | max | spread | drift (last 10% vs first 10%) | flat |');
  console.log('|---|---:|---:|---:|---:|---|');
  let ok = true;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  for (const [name, xs] of rows) {
    const s = spread(xs);
    const k = Math.max(1, Math.round(xs.length / 10));
    const drift = (100 * (mean(xs.slice(-k)) - mean(xs.slice(0, k)))) / mean(xs.slice(0, k));
    const flat = name.includes('MiB') ? Math.abs(drift) <= 2 : s.pct === 0;
    ok &&= flat;
    console.log(`| ${name} | ${s.min.toFixed(name.includes('MiB') ? 1 : 0)} | ${s.max.toFixed(name.includes('MiB') ? 1 : 0)} | ${s.pct.toFixed(2)}% | ${drift >= 0 ? '+' : ''}${drift.toFixed(2)}% | ${flat ? 'yes' : 'NO'} |`);
  }
  const ls = long.samples[SHORT - 1]!;
  const ll = long.samples[long.samples.length - 1]!;
  const ss = short.samples[short.samples.length - 1]!;
  console.log(`\n${SHORT}-step run vs ${STEPS}-step run:`);
  console.log(`| run | steps | time s | RSS MiB at end | live tensors at end | live bytes at end |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  console.log(`| short | ${SHORT} | ${short.seconds.toFixed(1)} | ${ss.rssMiB.toFixed(1)} | ${ss.liveStorages} | ${ss.liveBytes} |`);
  console.log(`| long, at step ${SHORT} | ${SHORT} | | ${ls.rssMiB.toFixed(1)} | ${ls.liveStorages} | ${ls.liveBytes} |`);
  console.log(`| long | ${STEPS} | ${long.seconds.toFixed(1)} | ${ll.rssMiB.toFixed(1)} | ${ll.liveStorages} | ${ll.liveBytes} |`);
  console.log(`\n${ok ? 'FLAT' : 'NOT FLAT'}: live tensors and bytes ${ok ? 'constant' : 'or memory drift'}; RSS and V8 heap drift ${ok ? 'within' : 'beyond'} 2% after warm-up`);
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
