// Kill -9 at 20 seeded points spread over LISA (reset and keep), LoRA and full runs, aimed at steps, saves,
// evals and the final export: each resumed run ends bit-identical to the uninterrupted one, with the same
// metrics.jsonl losses. A kill during a save leaves the previous checkpoint loadable.
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers.js';
import { writeFixtureRun, readMetrics } from './fixture-run.js';
import { Rng } from '../../src/util/rng.js';
import { findCheckpoint } from '../../src/train/checkpoint.js';

const STEPS = 16;
const SEED = Number(process.env.LISA_KILL_SEED ?? 20261201);

/** The line the CLI prints when a phase begins (plain output). */
const MARKERS = {
  step: /step (\d+)\//g,
  save: /saving checkpoint at step (\d+)/g,
  eval: /evaluating at step (\d+)/g,
  export: /exporting the result of step (\d+)/g,
} as const;
type Phase = keyof typeof MARKERS;

/** Runs `lisa train`; with a kill plan, sends SIGKILL `delayMs` after the `nth` marker of `phase` appears. */
function run(configPath: string, args: string[], kill?: { phase: Phase; nth: number; delayMs: number }): Promise<{ code: number | null; killed: boolean; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/train/run-cli.ts'), 'train', configPath, ...args],
      { cwd: repoRoot, env: { ...process.env, CI: 'true' } });
    let killed = false;
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (!kill || killed) return;
      if ([...out.matchAll(MARKERS[kill.phase])].length >= kill.nth) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
      }
    });
    child.on('close', (code) => resolve({ code, killed, out }));
  });
}

const VARIANTS: [string, object][] = [
  ['lisa reset', { kind: 'lisa', gamma: 2, period: 3, seed: 5, stateOnSwitch: 'reset' }],
  ['lisa keep', { kind: 'lisa', gamma: 2, period: 3, seed: 5, stateOnSwitch: 'keep' }],
  ['lora', { kind: 'lora', rank: 2, alpha: 4, dropout: 0.1 }],
  ['full', { kind: 'full' }],
];
const PHASES: Phase[] = ['step', 'save', 'eval', 'export', 'step'];
/** How many markers of each phase a run prints: steps 1..16, saves every 3, evals at 0 and every 5 (+ the end). */
const COUNT: Record<Phase, number> = { step: STEPS, save: Math.floor(STEPS / 3), eval: 5, export: 1 };

describe('checkpoints and exact resume', () => {
  it(`20 runs killed with SIGKILL at seeded points (seed ${SEED}; LISA_KILL_SEED replays) resume bit-identical`, async () => {
    console.log(`kill test seed ${SEED} (set LISA_KILL_SEED=${SEED} to replay)`);
    const rng = new Rng(SEED);
    const setup = (method: object) => {
      const r = writeFixtureRun({ method, train: { steps: STEPS, batchSize: 2, seed: 1, logEvery: 1, saveEvery: 3, evalEvery: 5 } });
      const cfg = JSON.parse(readFileSync(r.configPath, 'utf8'));
      Object.assign(cfg.data, { shuffle: true, evalSplit: 0.25 }); // 12 training rows, 4 held out
      writeFileSync(r.configPath, JSON.stringify(cfg));
      return r;
    };
    for (const [vi, [label, method]] of VARIANTS.entries()) {
      const ref = setup(method);
      expect((await run(ref.configPath, [])).code).toBe(0);
      // The result: the final model, or the adapter for LoRA.
      const result = (out: string) => readFileSync(label === 'lora' ? join(out, 'adapter', 'adapter_model.safetensors') : join(out, 'final', 'model.safetensors'));
      const refWeights = result(ref.out);
      const refLosses = readMetrics(ref.out).map((m) => m.loss);
      expect(refLosses).toHaveLength(STEPS);
      for (let k = 0; k < 5; k++) {
        const phase = PHASES[(vi + k) % PHASES.length];
        const plan = { phase, nth: 1 + rng.int(COUNT[phase]), delayMs: rng.int(3) };
        const r = setup(method);
        const first = await run(r.configPath, [], plan);
        expect(first.killed, `${label} ${JSON.stringify(plan)}: the run ended before the kill`).toBe(true);
        const left = ['checkpoint.tmp', 'checkpoint.old', 'final', 'adapter'].filter((f) => existsSync(join(r.out, f)));
        const ckpt = findCheckpoint(r.out);
        console.log(`  ${label}: kill ${JSON.stringify(plan)} after ${readMetrics(r.out).length} steps; checkpoint ` +
          `${ckpt ? `at step ${JSON.parse(readFileSync(join(ckpt, 'state.json'), 'utf8')).step}` : 'none'}${left.length ? `; left ${left.join(', ')}` : ''}`);
        // Killed before the first save: nothing to resume, so the run starts again (without --resume).
        const resumed = await run(r.configPath, findCheckpoint(r.out) ? ['--resume'] : ['--overwrite']);
        expect(resumed.code, `${label} ${JSON.stringify(plan)}: ${resumed.out}`).toBe(0);
        expect(result(r.out).equals(refWeights), `${label} ${JSON.stringify(plan)}`).toBe(true);
        expect(readMetrics(r.out).map((m) => m.loss), `${label} ${JSON.stringify(plan)}`).toEqual(refLosses);
      }
    }
  }, 600_000);

  it('a crash between the renames of a save leaves the previous checkpoint loadable', async () => {
    const r = writeFixtureRun({ train: { steps: 4, batchSize: 2, seed: 1, saveEvery: 2 } });
    expect((await run(r.configPath, [])).code).toBe(0);
    const ckpt = join(r.out, 'checkpoint');
    // State after "remove checkpoint.old, rename checkpoint -> checkpoint.old" and before "rename
    // checkpoint.tmp -> checkpoint", with a half-written checkpoint.tmp.
    rmSync(join(r.out, 'checkpoint.old'), { recursive: true });
    renameSync(ckpt, join(r.out, 'checkpoint.old'));
    mkdirSync(join(r.out, 'checkpoint.tmp'));
    writeFileSync(join(r.out, 'checkpoint.tmp', 'weights.safetensors'), 'partial');
    expect(findCheckpoint(r.out)).toBe(join(r.out, 'checkpoint.old'));
    rmSync(join(r.out, 'final'), { recursive: true });
    const resumed = await run(r.configPath, ['--resume', '--set', 'train.steps=6']);
    expect(resumed.code).toBe(0);
    expect(readMetrics(r.out).map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    // The newest save (step 6) is the checkpoint; the one before it (step 4) stays as checkpoint.old.
    const stepOf = (d: string) => JSON.parse(readFileSync(join(r.out, d, 'state.json'), 'utf8')).step;
    expect([stepOf('checkpoint'), stepOf('checkpoint.old')]).toEqual([6, 4]);
  }, 120_000);
});
