// LISA step time, train.matmulPrecision float32 against bfloat16, with fp32 and with bf16 weights (train.weightDtype),
// through `lisa train` on a random-init GPT-2-small (seq 256, batch 1, LISA gamma 2, period 3, so the timed steps
// include a switch). Step seconds come from metrics.jsonl (tokens / tokensPerSec); the first step (warm-up) is
// dropped. The settings alternate over --rounds runs each, so load from other processes hits all alike.
// Run: node --import tsx bench/lisa-bf16-step.ts [--steps=8] [--rounds=2] [--threads=2] [--weights=float32,bfloat16]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeAddon } from '../src/backends/cpu-native.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const steps = Number(arg('steps') ?? 8);
const threads = arg('threads') ?? '2';
const rounds = Number(arg('rounds') ?? 2);
const T = 256, V = 50257;

const dir = mkdtempSync(join(tmpdir(), 'lisa-bf16-step-'));
const dataPath = join(dir, 'data.jsonl');
const rows: string[] = [];
for (let r = 0; r < 4; r++) rows.push(JSON.stringify({ input_ids: Array.from({ length: T + 1 }, (_, i) => (i * 7919 + r * 104729) % V) }));
writeFileSync(dataPath, `${rows.join('\n')}\n`);

type Prec = 'float32' | 'bfloat16';
const weights = (arg('weights') ?? 'float32,bfloat16').split(',') as Prec[];
if (weights.some((w) => w !== 'float32' && w !== 'bfloat16')) throw new Error('--weights: float32 and/or bfloat16');

let runs = 0;
function stepSeconds(weightDtype: Prec, matmulPrecision: Prec): number[] {
  const out = join(dir, `out-${weightDtype}-${matmulPrecision}-${runs++}`);
  const config = {
    model: { init: { model_type: 'gpt2', vocab_size: V, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 } },
    data: { path: dataPath, format: 'pretokenized', shuffle: false, evalSplit: 0, maxLength: T + 1 },
    method: { kind: 'lisa', gamma: 2, period: 3, stateOnSwitch: 'reset' },
    optim: { lr: 1e-4 },
    train: { steps, batchSize: 1, logEvery: 1, weightDtype, matmulPrecision },
    out,
  };
  const cfgPath = join(dir, `config-${weightDtype}-${matmulPrecision}.json`);
  writeFileSync(cfgPath, JSON.stringify(config));
  const r = spawnSync(process.execPath, [join(root, 'bin', 'lisa.js'), 'train', cfgPath],
    { encoding: 'utf8', env: { ...process.env, LISA_NUM_THREADS: threads, CI: 'true' } });
  if (r.status !== 0) throw new Error(`lisa train failed:\n${r.stdout}\n${r.stderr}`);
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l) as { tokensPerSec: number });
  return metrics.slice(1).map((m) => T / m.tokensPerSec);
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[s.length >> 1]!, max: s[s.length - 1]! };
};
const info = nativeAddon().gemmInfo();
console.log(`GPT-2-small LISA (gamma 2, period 3) seq ${T} batch 1, ${threads} threads; ` +
  `bf16 GEMM kernel ${info.bf16Kernel}, fp32 GEMM ${info.impl}`);
const settings = weights.flatMap((w) => (['float32', 'bfloat16'] as const).map((m) => [w, m] as const));
const times = new Map<string, number[]>(settings.map(([w, m]) => [`${w}/${m}`, []]));
for (let r = 0; r < rounds; r++) {
  for (const [w, m] of settings) times.get(`${w}/${m}`)!.push(...stepSeconds(w, m));
}
const base = stats(times.get(`${weights[0]}/float32`)!);
console.log(`| train.weightDtype | train.matmulPrecision | median step s (min / max) | speedup vs ${weights[0]}/float32 (median, fastest) |`);
console.log('|---|---|---|---|');
for (const [w, m] of settings) {
  const s = stats(times.get(`${w}/${m}`)!);
  console.log(`| ${w} | ${m} | ${s.median.toFixed(3)} (${s.min.toFixed(3)} / ${s.max.toFixed(3)}) | ` +
    `${(base.median / s.median).toFixed(2)}x, ${(base.min / s.min).toFixed(2)}x |`);
}
console.log(`(${rounds} alternating runs of ${steps - 1} timed steps per setting)`);
rmSync(dir, { recursive: true, force: true });
