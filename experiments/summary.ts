// The tables of docs/experiments.md from `lisa compare` outputs (their results.json): per method the loss with its
// spread over seeds and the seed-paired gap to LoRA (claim b), memory and speed (claim c), the LoRA runs' layer norms
// (claim a), and for the ablation the best eval loss per gamma and period. Prints markdown.
// Run: node --import tsx experiments/summary.ts runs/compare-alpaca-blocks-dominant [more compare outputs...]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Spread { mean: number; sd: number; n: number; values: number[] }
interface Run { seed: number; bestEvalLoss: number | null; finalTrainLoss: number | null }
interface Method {
  name: string; kind: string; trainableParams: number; medianStepSeconds: Spread;
  memory: { measured: { total: Spread } }; finalTrainLoss: Spread | null; bestEvalLoss: Spread | null; runs: Run[];
}
interface Layer { layer: string; meanWeightNorm: number; updateNorm: number; adapterNorm: number | null }
interface Results {
  source: string; steps: number; seeds: number[]; model: { totalParams: number; embedHeadParams: number };
  methods: Method[]; norms: { runs: { run: string; method: string; layers: Layer[] }[] }; claims: { id: string; held: boolean | null; sentence: string }[];
}

const f4 = (x: number) => x.toFixed(4);
const pm = (s: Spread | null, f = f4) => (s ? (s.n > 1 ? `${f(s.mean)} ± ${f(s.sd)}` : f(s.mean)) : '-');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)) : 0);

/** LISA's (or any method's) best eval loss minus LoRA's, seed by seed (the seeds share data split and order). */
function pairedGap(m: Method, lora: Method | undefined): string {
  if (!lora || m === lora) return '-';
  const gaps = m.runs.flatMap((r) => {
    const l = lora.runs.find((x) => x.seed === r.seed);
    return r.bestEvalLoss !== null && l?.bestEvalLoss != null ? [r.bestEvalLoss - l.bestEvalLoss] : [];
  });
  if (gaps.length === 0) return '-';
  const s = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;
  return gaps.length > 1 ? `${s(mean(gaps))} ± ${sd(gaps).toFixed(4)} (${gaps.filter((g) => g < 0).length}/${gaps.length} below)` : s(gaps[0]!);
}

function methodsTable(r: Results): string {
  const lora = r.methods.find((m) => m.kind === 'lora');
  const rows = r.methods.map((m) => `| ${m.name} | ${m.trainableParams.toLocaleString('en-US')} | ${pm(m.bestEvalLoss)} | ${pairedGap(m, lora)} | ` +
    `${pm(m.finalTrainLoss)} | ${(m.memory.measured.total.mean / 2 ** 20).toFixed(1)} | ${m.medianStepSeconds.mean.toFixed(2)} |`);
  return ['| method | trainable | best eval loss | minus LoRA\'s, paired by seed | final train loss | peak MiB | median s/step |',
    '|---|---:|---:|---:|---:|---:|---:|', ...rows].join('\n');
}

/** Per layer, averaged over the LoRA runs (and the full runs' update norms beside them, for where full FT moves). */
function normsTable(r: Results): string {
  const runs = (method: string) => r.norms.runs.filter((n) => n.method === method);
  const lora = runs('lora');
  const full = runs('full');
  if (lora.length === 0) return '(no LoRA run)';
  const at = (rs: typeof lora, layer: string, k: 'meanWeightNorm' | 'updateNorm' | 'adapterNorm') => {
    const xs = rs.map((n) => n.layers.find((l) => l.layer === layer)?.[k]).filter((x): x is number => typeof x === 'number');
    return xs.length ? mean(xs) : null;
  };
  const show = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));
  const rows = lora[0]!.layers.map(({ layer }) => `| ${layer} | ${show(at(lora, layer, 'meanWeightNorm'))} | ${show(at(lora, layer, 'updateNorm'), 3)} | ` +
    `${show(at(lora, layer, 'adapterNorm'))} | ${show(at(full, layer, 'updateNorm'), 3)} |`);
  return [`| layer | LoRA: mean weight norm | LoRA: update norm | LoRA: adapter norm | full FT: update norm |`, '|---|---:|---:|---:|---:|', ...rows].join('\n');
}

/** gamma x period grid of best eval loss, for methods named gG-KK. */
function ablationTable(r: Results): string {
  const cells = r.methods.map((m) => ({ m, g: /^g(\d+)-K(\d+)$/.exec(m.name) })).filter((x) => x.g);
  const gammas = [...new Set(cells.map((c) => Number(c.g![1])))].sort((a, b) => a - b);
  const periods = [...new Set(cells.map((c) => Number(c.g![2])))].sort((a, b) => b - a);
  const cell = (g: number, k: number) => pm(cells.find((c) => Number(c.g![1]) === g && Number(c.g![2]) === k)?.m.bestEvalLoss ?? null);
  return [`| gamma \\ period K | ${periods.map((k) => `${k}${k === r.steps ? ' (T)' : ` (T/${r.steps / k})`}`).join(' | ')} |`,
    `|---|${periods.map(() => '---:').join('|')}|`, ...gammas.map((g) => `| ${g} | ${periods.map((k) => cell(g, k)).join(' | ')} |`)].join('\n');
}

for (const out of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  console.log(`### ${r.source} (${r.steps} steps, seeds ${r.seeds.join(', ')})\n`);
  if (r.methods.every((m) => /^g\d+-K\d+$/.test(m.name))) {
    console.log(`Best eval loss${r.seeds.length > 1 ? ' (mean ± sd over seeds)' : ''}:\n\n${ablationTable(r)}\n`);
    continue;
  }
  console.log(`${methodsTable(r)}\n\nLayer norms (mean over the runs' seeds):\n\n${normsTable(r)}\n`);
  for (const c of r.claims) console.log(`${c.sentence}\n`);
}
