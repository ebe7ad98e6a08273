// GSM8K exact match of every finished run of a `lisa compare` output: greedy answers to the first --limit test
// problems through `lisa eval --task gsm8k` (LoRA adapters merged into their base first with `lisa export --merge`).
// Prints a markdown table: accuracy per method, mean and spread over seeds.
// Run: node --import tsx experiments/gsm8k-exact-match.ts runs/compare-gsm8k-blocks-dominant [--limit 200]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { limit: { type: 'string', default: '200' } } });
const out = positionals[0];
if (!out) throw new Error('usage: experiments/gsm8k-exact-match.ts COMPARE_OUT [--limit N]');
const data = join(root, '../shared/data/instruct/gsm8k/test.jsonl');
const tmp = mkdtempSync(join(tmpdir(), 'lisa-gsm8k-em-'));

function lisa(args: string[]): string {
  const r = spawnSync(process.execPath, [join(root, 'bin/lisa.js'), ...args], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`lisa ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** An HF folder of the run's result: final/ (full, LISA), or its LoRA adapter merged into the base. */
function modelOf(runDir: string, base: string, name: string): string {
  if (existsSync(join(runDir, 'final', 'config.json'))) return join(runDir, 'final');
  const merged = join(tmp, name);
  lisa(['export', '--model', base, '--adapter', join(runDir, 'adapter'), '--merge', '--out', merged]);
  return merged;
}

const rows: string[] = [];
for (const method of readdirSync(join(out, 'runs')).sort()) {
  const accs: number[] = [];
  for (const seed of readdirSync(join(out, 'runs', method)).sort()) {
    const runDir = join(out, 'runs', method, seed);
    const info = join(runDir, 'compare-run.json');
    if (!existsSync(info)) continue; // not finished
    const base = resolve(root, (JSON.parse(readFileSync(info, 'utf8')) as { config: { model: string } }).config.model);
    const model = modelOf(runDir, base, `${method}-${seed}`);
    const m = JSON.parse(lisa(['eval', '--task', 'gsm8k', '--model', model, '--data', data, '--limit', values.limit!, '--json'])) as { correct: number; examples: number };
    accs.push(m.correct / m.examples);
    process.stderr.write(`${method} ${seed}: ${m.correct}/${m.examples}\n`);
  }
  if (accs.length === 0) continue;
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  const sd = accs.length > 1 ? Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / (accs.length - 1)) : 0;
  rows.push(`| ${method} | ${accs.length} | ${(100 * mean).toFixed(1)}% ± ${(100 * sd).toFixed(1)} | ${accs.map((a) => `${(100 * a).toFixed(1)}%`).join(', ')} |`);
}
rmSync(tmp, { recursive: true, force: true });
console.log(`GSM8K exact match, greedy, first ${values.limit} test problems\n\n| method | seeds | mean ± sd | per seed |\n|---|---:|---:|---|\n${rows.join('\n')}`);
