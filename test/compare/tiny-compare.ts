// A tiny `lisa compare` setup for tests: a 4-block Llama from model.init trained on README.md's bytes as
// token ids (a real text, byte-level), full / LoRA r=8 / LISA gamma 2 uniform and norm-weighted, a few steps,
// evaluated every 4 steps.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { repoRoot } from '../helpers.js';

export interface TinyCompare { root: string; configPath: string; out: string }

export function writeTinyCompare(opts: { steps?: number; seeds?: number; methods?: unknown[]; saveEvery?: number } = {}): TinyCompare {
  const root = mkdtempSync(join(tmpdir(), 'lisa-compare-'));
  const text = readFileSync(join(repoRoot, 'README.md'));
  const seq = 33;
  const rows: string[] = [];
  for (let i = 0; i + seq <= text.length && rows.length < 48; i += seq) rows.push(JSON.stringify({ input_ids: [...text.subarray(i, i + seq)] }));
  writeFileSync(join(root, 'data.jsonl'), `${rows.join('\n')}\n`);
  const config = {
    model: { init: { architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 256, hidden_size: 32, intermediate_size: 64,
      num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 4, max_position_embeddings: 64, rms_norm_eps: 1e-5, tie_word_embeddings: false } },
    data: { path: join(root, 'data.jsonl'), format: 'pretokenized', maxLength: seq, evalSplit: 0.15 },
    optim: { lr: 3e-3 },
    train: { steps: opts.steps ?? 12, batchSize: 4, evalEvery: 4, logEvery: 4, seed: 1, saveEvery: opts.saveEvery ?? 0 },
    out: join(root, 'out'),
    compare: { seeds: opts.seeds ?? 2, methods: opts.methods ?? ['full', { name: 'lora', method: { rank: 8, alpha: 16 } }, 'lisa', 'lisa-weighted'] },
  };
  const configPath = join(root, 'compare.yaml');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return { root, configPath, out: config.out };
}

export interface CliRun { code: number | null; out: string; err: string }

/** Runs `lisa compare ARGS` from source in a child; `onOut` sees stdout as it grows (to send a signal). */
export function runCompareCli(args: string[], onOut?: (out: string, kill: (s: NodeJS.Signals) => void) => void): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/train/run-cli.ts'), 'compare', ...args],
      { cwd: repoRoot, env: { ...process.env, CI: 'true' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; onOut?.(out, (s) => child.kill(s)); });
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
