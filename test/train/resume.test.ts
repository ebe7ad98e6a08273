// Kill -9 at random points, 5 times: each resumed run ends bit-identical to the uninterrupted run, with the
// same metrics.jsonl losses; a kill during a save leaves the previous checkpoint loadable.
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers.js';
import { writeFixtureRun, readMetrics } from './fixture-run.js';
import { Rng } from '../../src/util/rng.js';
import { findCheckpoint } from '../../src/train/checkpoint.js';

const STEPS = 40;

/** Runs `lisa train`; when killAtStep is set, sends SIGKILL once the child reports that step. */
function run(configPath: string, args: string[], killAtStep?: number): Promise<{ code: number | null; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/train/run-cli.ts'), 'train', configPath, ...args],
      { cwd: repoRoot, env: { ...process.env, CI: 'true' } });
    let killed = false;
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = [...buf.matchAll(/step (\d+)\//g)].pop();
      if (killAtStep !== undefined && !killed && m && Number(m[1]) >= killAtStep) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('close', (code) => resolve({ code, killed }));
  });
}

describe('checkpoints and exact resume', () => {
  it('5 runs killed with SIGKILL at random steps and resumed end bit-identical to an uninterrupted run', async () => {
    const train = { steps: STEPS, batchSize: 2, seed: 1, logEvery: 1, saveEvery: 3 };
    const method = { kind: 'lisa', gamma: 2, period: 3, seed: 5, stateOnSwitch: 'keep' };
    const ref = writeFixtureRun({ train, method });
    expect((await run(ref.configPath, [])).code).toBe(0);
    const refWeights = readFileSync(join(ref.out, 'final', 'model.safetensors'));
    const refLosses = readMetrics(ref.out).map((m) => m.loss);
    expect(refLosses).toHaveLength(STEPS);

    const rng = new Rng(123);
    for (let trial = 0; trial < 5; trial++) {
      const r = writeFixtureRun({ train, method });
      const killAt = 2 + rng.int(STEPS - 4);
      const first = await run(r.configPath, [], killAt);
      expect(first.killed).toBe(true);
      expect(existsSync(join(r.out, 'final'))).toBe(false);
      const resumed = await run(r.configPath, ['--resume']);
      expect(resumed.code).toBe(0);
      expect(readFileSync(join(r.out, 'final', 'model.safetensors')).equals(refWeights)).toBe(true);
      expect(readMetrics(r.out).map((m) => m.loss)).toEqual(refLosses);
    }
  }, 300_000);

  it('a crash between the renames of a save leaves the previous checkpoint loadable', async () => {
    const r = writeFixtureRun({ train: { steps: 4, batchSize: 2, seed: 1, saveEvery: 2 } });
    expect((await run(r.configPath, [])).code).toBe(0);
    const ckpt = join(r.out, 'checkpoint');
    // State after "rename checkpoint -> checkpoint.old" and before "rename checkpoint.tmp -> checkpoint",
    // with a half-written checkpoint.tmp.
    renameSync(ckpt, join(r.out, 'checkpoint.old'));
    mkdirSync(join(r.out, 'checkpoint.tmp'));
    writeFileSync(join(r.out, 'checkpoint.tmp', 'weights.safetensors'), 'partial');
    expect(findCheckpoint(r.out)).toBe(join(r.out, 'checkpoint.old'));
    rmSync(join(r.out, 'final'), { recursive: true });
    const resumed = await run(r.configPath, ['--resume', '--set', 'train.steps=6']);
    expect(resumed.code).toBe(0);
    expect(readMetrics(r.out).map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(existsSync(join(r.out, 'checkpoint.old'))).toBe(false);
  }, 120_000);
});
