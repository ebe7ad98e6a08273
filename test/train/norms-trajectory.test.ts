// train.normsEvery: lisa train records norms.jsonl at step 0 and every N steps; a run stopped and resumed from
// an older checkpoint (the newest lost, as after a kill between renames) with a half-written line ends with the
// same rows as the uninterrupted run, none duplicated or missing; the recorded norms equal those lisa norms
// computes from the exported result (LoRA: merged weights).
import { afterAll, describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { repoRoot } from '../helpers.js';
import { join } from 'node:path';
import { loadConfig, validateConfig } from '../../src/train/config.js';
import { train } from '../../src/train/trainer.js';
import { computeLayerNorms } from '../../src/analysis/layer-norms.js';
import { writeFixtureRun as writeRun } from './fixture-run.js';

const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));
const writeFixtureRun = (o: Record<string, unknown>) => {
  const r = writeRun(o);
  roots.push(r.root);
  return r;
};
const rows = (out: string) => readFileSync(join(out, 'norms.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; norms: Record<string, number> });
const LAYERS = ['embed', 'block.0', 'block.1', 'block.2', 'block.3', 'finalNorm', 'head'];

describe('train.normsEvery', () => {
  it('records every N steps and survives a stop, a lost newest checkpoint, a damaged line and --resume', async () => {
    const setup = () => writeFixtureRun({ train: { steps: 10, batchSize: 2, seed: 1, normsEvery: 2, saveEvery: 3 } });
    const ref = setup();
    await train(loadConfig(ref.configPath));
    const want = rows(ref.out);
    expect(want.map((r) => r.step)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(Object.keys(want[0].norms)).toEqual(LAYERS);
    expect(want[1].norms['block.0']).not.toBe(want[0].norms['block.0']); // the schedule trains block 0 first

    const r = setup();
    let steps = 0;
    const first = await train(loadConfig(r.configPath), { onStep: () => steps++, shouldStop: () => steps >= 8 });
    expect(first).toMatchObject({ stopped: 'interrupted', steps: 8 });
    expect(rows(r.out).map((x) => x.step)).toEqual([0, 2, 4, 6, 8]);
    rmSync(join(r.out, 'checkpoint'), { recursive: true }); // checkpoint.old (step 6) is the newest left
    appendFileSync(join(r.out, 'norms.jsonl'), '{"step": 1');
    const warnings: string[] = [];
    await train(loadConfig(r.configPath), { resume: true, onWarning: (m) => warnings.push(m) });
    expect(rows(r.out)).toEqual(want);
    expect(warnings.join('\n')).toMatch(/norms\.jsonl: dropped a damaged line/);
  });

  it('a lisa train killed with SIGKILL mid-run and resumed has every row once, equal to the uninterrupted run', async () => {
    const cli = (configPath: string, args: string[], killAfterStep?: number) => new Promise<{ code: number | null; killed: boolean }>((done) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/train/run-cli.ts'), 'train', configPath, ...args],
        { cwd: repoRoot, env: { ...process.env, CI: 'true' } });
      let out = '';
      let killed = false;
      child.stdout.on('data', (d) => {
        out += d;
        if (killAfterStep !== undefined && !killed && out.includes(`step ${killAfterStep}/`)) {
          killed = true;
          child.kill('SIGKILL');
        }
      });
      child.on('close', (code) => done({ code, killed }));
    });
    const setup = () => writeFixtureRun({ train: { steps: 12, batchSize: 2, seed: 1, normsEvery: 1, saveEvery: 4, logEvery: 1 } });
    const ref = setup();
    expect((await cli(ref.configPath, [])).code).toBe(0);
    const want = rows(ref.out);
    expect(want.map((r) => r.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const r = setup();
    expect((await cli(r.configPath, [], 6)).killed).toBe(true); // after the checkpoint at step 4
    expect(rows(r.out).length).toBeGreaterThan(5); // rows past the checkpoint were written before the kill
    expect((await cli(r.configPath, ['--resume'])).code).toBe(0);
    expect(rows(r.out)).toEqual(want);
  }, 120_000);

  it('normsEvery must be a positive integer (or null: off)', () => {
    const cfg = (normsEvery: unknown) => ({ model: 'm', data: { path: 'd' }, train: { normsEvery }, out: 'o' });
    expect(() => validateConfig(cfg(0), 'c.yaml')).toThrow(/c\.yaml: 'train\.normsEvery' = 0: /);
    expect(() => validateConfig(cfg(1.5), 'c.yaml')).toThrow(/'train\.normsEvery' = 1\.5/);
    expect(validateConfig(cfg(null)).train.normsEvery).toBeNull();
    expect(validateConfig(cfg(5)).train.normsEvery).toBe(5);
  });

  it('a fresh run without normsEvery leaves no earlier trajectory behind', async () => {
    const r = writeFixtureRun({ train: { steps: 2, batchSize: 2, seed: 1, normsEvery: 1 } });
    await train(loadConfig(r.configPath));
    expect(rows(r.out).map((x) => x.step)).toEqual([0, 1, 2]);
    const cfg = JSON.parse(readFileSync(r.configPath, 'utf8'));
    delete cfg.train.normsEvery;
    writeFileSync(r.configPath, JSON.stringify(cfg));
    await train(loadConfig(r.configPath), { overwrite: true });
    expect(existsSync(join(r.out, 'norms.jsonl'))).toBe(false);
  });

  it('the recorded norms of the last step equal lisa norms on the exported result (full and LoRA)', async () => {
    for (const method of [{ kind: 'full' }, { kind: 'lora', rank: 2, alpha: 4 }]) {
      const r = writeFixtureRun({ method, optim: { lr: 0.05, maxGradNorm: null }, train: { steps: 4, batchSize: 2, seed: 1, normsEvery: 4 } });
      await train(loadConfig(r.configPath));
      const last = rows(r.out).at(-1)!;
      expect(last.step).toBe(4);
      renameSync(join(r.out, 'norms.jsonl'), join(r.out, 'norms.recorded')); // lisa norms then measures the final weights
      const [measured] = computeLayerNorms(join(r.root, 'model'), [r.out]).runs;
      expect(measured.method).toBe(method.kind);
      for (const l of measured.layers) expect(l.meanWeightNorm / last.norms[l.layer] - 1, `${method.kind} ${l.layer}`).toBeCloseTo(0, 6);
      if (method.kind === 'lora') expect(measured.layers.filter((l) => l.layer.startsWith('block.')).every((l) => l.updateNorm > 0)).toBe(true);
    }
  });
});
