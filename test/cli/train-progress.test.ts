// `lisa train` in a real terminal (tmux): eval results and LISA switches are printed above the progress bar, each on
// its own line and equal to eval.jsonl / metrics.jsonl, and the bar shows the active blocks.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/util/rng.js';
import { tempDirs } from '../cli-helpers.js';
import { repoRoot } from '../helpers.js';

const tmp = tempDirs('lisa-cli-progress');
const haveTmux = spawnSync('tmux', ['-V']).status === 0;
if (!haveTmux && process.env.CI === 'true') throw new Error('tmux is required under CI=true (apt-get install tmux)');

describe('lisa train progress on a terminal', () => {
  it.skipIf(!haveTmux)('prints eval results and LISA switches above the bar and shows the active blocks in it', async () => {
    const root = tmp();
    const rng = new Rng(3);
    writeFileSync(join(root, 'data.jsonl'), Array.from({ length: 24 }, () => JSON.stringify({ input_ids: Array.from({ length: 16 }, () => rng.int(64)) })).join('\n'));
    const out = join(root, 'out');
    writeFileSync(join(root, 'config.json'), JSON.stringify({
      model: { init: { model_type: 'llama', vocab_size: 64, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 4, num_attention_heads: 2, max_position_embeddings: 16 } },
      data: { path: join(root, 'data.jsonl'), format: 'pretokenized', maxLength: 16, evalSplit: 0.2 },
      method: { kind: 'lisa', gamma: 1, period: 2, seed: 5 },
      optim: { lr: 1e-3 },
      train: { steps: 8, batchSize: 2, evalEvery: 3, seed: 1 },
      out,
    }));
    const sock = `lisa-progress-${process.pid}`;
    const tmux = (...a: string[]) => execFileSync('tmux', ['-L', sock, ...a], { encoding: 'utf8' });
    const screen = () => tmux('capture-pane', '-p', '-J', '-t', 'p', '-S', '-100');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'CI'));
    execFileSync('tmux', ['-L', sock, 'new-session', '-d', '-s', 'p', '-x', '200', '-y', '50', '-c', repoRoot, 'bash', '--norc'], { env });
    let text = '';
    try {
      tmux('send-keys', '-t', 'p', `node --import tsx test/train/run-cli.ts train ${join(root, 'config.json')}; echo EXIT=$?`, 'Enter');
      for (const t0 = Date.now(); Date.now() - t0 < 90_000 && !/EXIT=\d+/.test(text); await new Promise((s) => setTimeout(s, 200))) text = screen();
    } finally {
      spawnSync('tmux', ['-L', sock, 'kill-server']);
    }
    expect(text).toContain('EXIT=0');
    const lines = text.split('\n');
    // Every evaluation in eval.jsonl is a line of its own on the terminal, with the same numbers.
    const evals = readFileSync(join(out, 'eval.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number; perplexity: number; tokens: number });
    expect(evals.map((e) => e.step)).toEqual([0, 3, 6, 8]);
    for (const e of evals) {
      expect(lines, `eval at step ${e.step}`).toContain(`eval @ step ${e.step}: loss ${e.loss.toFixed(4)} perplexity ${e.perplexity.toFixed(2)} (${e.tokens} tokens)`);
    }
    // Every change of the active set in metrics.jsonl is announced once, at its step.
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; activeLayers: number[] });
    const announced = lines.filter((l) => l.startsWith('LISA '));
    const expected = metrics.flatMap((m, i) => {
      if (i === 0) return [`LISA active blocks [${m.activeLayers.join(', ')}] from step 1`];
      const before = metrics[i - 1]!.activeLayers;
      return before.join() === m.activeLayers.join() ? [] : [`LISA switch at step ${m.step}: active blocks [${m.activeLayers.join(', ')}] (were [${before.join(', ')}])`];
    });
    expect(expected.length).toBeGreaterThan(1);
    expect(announced).toEqual(expected);
    // The bar (drawn last, at 8/8) shows the last active set.
    const last = metrics[metrics.length - 1]!.activeLayers.join(',');
    expect(text).toMatch(new RegExp(`train \\|.*\\| 8/8 steps \\| .* tok/s \\| blocks ${last} \\| ETA`));
  }, 120_000);
});
