// A real SIGINT to a running `lisa compare`: it stops the current run with a checkpoint and exits 130; the same
// command again keeps the finished runs, resumes the interrupted one from its checkpoint, and ends with the
// same losses as a comparison that was never interrupted.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCompareCli, writeTinyCompare } from './tiny-compare.js';

const losses = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { loss: number }).loss);

describe('lisa compare: interrupt and resume', () => {
  it('resumes after SIGINT and ends as an uninterrupted comparison', async () => {
    const methods = ['full', 'lisa'];
    const t = writeTinyCompare({ steps: 40, seeds: 1, methods });
    let sent = false;
    // Interrupt the second run (lisa) once it has logged step 8 of 40.
    const first = await runCompareCli([t.configPath], (out, kill) => {
      if (!sent && /lisa seed 1 step 8\/40/.test(out)) { sent = true; kill('SIGINT'); }
    });
    expect(sent).toBe(true);
    expect(first.code, first.err + first.out).toBe(130);
    expect(first.out).toMatch(/interrupted \(SIGINT\): finished runs are kept/);
    const full = join(t.out, 'runs', 'full', 'seed-1');
    const lisa = join(t.out, 'runs', 'lisa', 'seed-1');
    expect(existsSync(join(full, 'compare-run.json'))).toBe(true);
    expect(existsSync(join(lisa, 'compare-run.json'))).toBe(false);
    expect(existsSync(join(lisa, 'checkpoint', 'state.json'))).toBe(true);
    const stoppedAt = losses(lisa).length;
    expect(stoppedAt).toBeGreaterThanOrEqual(8);
    expect(stoppedAt).toBeLessThan(40);
    expect(existsSync(join(t.out, 'results.json'))).toBe(false);

    const second = await runCompareCli([t.configPath]);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toMatch(/\[1\/2\] full seed 1: finished earlier, kept/);
    expect(second.out).toMatch(/\[2\/2\] lisa seed 1: resuming from its checkpoint/);
    expect(existsSync(join(t.out, 'results.json'))).toBe(true);

    const ref = await runCompareCli([t.configPath, '--out', join(t.root, 'ref')]);
    expect(ref.code, ref.err).toBe(0);
    for (const m of methods) expect(losses(join(t.out, 'runs', m, 'seed-1'))).toEqual(losses(join(t.root, 'ref', 'runs', m, 'seed-1')));
    rmSync(t.root, { recursive: true, force: true });
  }, 300_000);
});
