// Damaged checkpoints: each checkpoint file truncated or with flipped bytes makes the resume fall back to
// checkpoint.old (with a warning naming the file) and end bit-identical to an uninterrupted run; with both
// damaged the resume refuses and trains nothing. state.json records every file's SHA-256, and its own.
import { describe, it, expect } from 'vitest';
import { readFileSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../cli-helpers.js';
import { writeFixtureRun, readMetrics } from './fixture-run.js';
import { checkpointProblem } from '../../src/train/checkpoint.js';

const FILES = ['weights.safetensors', 'optimizer.safetensors', 'state.json'];

function damage(path: string, how: 'truncate' | 'flip'): void {
  if (how === 'truncate') {
    truncateSync(path, Math.floor(statSync(path).size / 2));
    return;
  }
  const b = readFileSync(path);
  const at = Math.floor(b.length * 0.7); // past safetensors headers, inside the numbers
  b[at] ^= 0x10;
  writeFileSync(path, b);
}

/** A finished 6-step LISA run with saves every 2 steps: checkpoint at step 6, checkpoint.old at step 4. */
async function finishedRun() {
  const r = writeFixtureRun({ train: { steps: 6, batchSize: 2, seed: 1, saveEvery: 2, logEvery: 1 } });
  expect((await runCli(['train', r.configPath])).code).toBe(0);
  return r;
}

describe('damaged checkpoints', () => {
  it('an uninterrupted 8-step run, for reference; each damaged file falls back to checkpoint.old and ends bit-identical', async () => {
    const ref = writeFixtureRun({ train: { steps: 8, batchSize: 2, seed: 1, saveEvery: 2, logEvery: 1 } });
    expect((await runCli(['train', ref.configPath])).code).toBe(0);
    const refWeights = readFileSync(join(ref.out, 'final', 'model.safetensors'));
    const refLosses = readMetrics(ref.out).map((m) => m.loss);
    for (const file of FILES) {
      for (const how of ['truncate', 'flip'] as const) {
        const r = await finishedRun();
        const path = join(r.out, 'checkpoint', file);
        damage(path, how);
        expect(checkpointProblem(join(r.out, 'checkpoint')), `${file} ${how}`).toContain(path);
        const res = await runCli(['train', r.configPath, '--resume', '--set', 'train.steps=8']);
        expect(res.code, `${file} ${how}: ${res.err}`).toBe(0);
        expect(res.err).toContain(`warning: ${path}`);
        expect(res.err).toContain('resuming from the previous checkpoint instead');
        expect(res.out).toContain('steps 5..8'); // from checkpoint.old (step 4)
        expect(readMetrics(r.out).map((m) => m.loss)).toEqual(refLosses);
        expect(readFileSync(join(r.out, 'final', 'model.safetensors')).equals(refWeights), `${file} ${how}`).toBe(true);
      }
    }
  }, 120_000);

  it('with both checkpoints damaged the resume refuses and trains nothing', async () => {
    const r = await finishedRun();
    damage(join(r.out, 'checkpoint', 'optimizer.safetensors'), 'flip');
    damage(join(r.out, 'checkpoint.old', 'weights.safetensors'), 'truncate');
    const metricsBefore = readFileSync(join(r.out, 'metrics.jsonl'), 'utf8');
    const res = await runCli(['train', r.configPath, '--resume', '--set', 'train.steps=8']);
    expect(res.code).toBe(1);
    expect(res.err).toContain(`CheckpointError: no intact checkpoint in ${r.out}`);
    expect(res.err).toContain(join(r.out, 'checkpoint', 'optimizer.safetensors'));
    expect(res.err).toContain(join(r.out, 'checkpoint.old', 'weights.safetensors'));
    expect(readFileSync(join(r.out, 'metrics.jsonl'), 'utf8')).toBe(metricsBefore);
  });

  it('a damaged eval.jsonl line is dropped with a warning; the resume goes on', async () => {
    const r = writeFixtureRun({ train: { steps: 4, batchSize: 2, seed: 1, saveEvery: 2, evalEvery: 2 } });
    const cfg = JSON.parse(readFileSync(r.configPath, 'utf8'));
    cfg.data.evalSplit = 0.25;
    writeFileSync(r.configPath, JSON.stringify(cfg));
    expect((await runCli(['train', r.configPath])).code).toBe(0);
    const evalPath = join(r.out, 'eval.jsonl');
    writeFileSync(evalPath, readFileSync(evalPath, 'utf8').replace('"step":2', '"st\u0000ep":2,'));
    const res = await runCli(['train', r.configPath, '--resume', '--set', 'train.steps=6']);
    expect(res.code, res.err).toBe(0);
    expect(res.err).toContain(`warning: ${evalPath}: dropped a damaged line`);
    expect(readFileSync(evalPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).step)).toEqual([0, 4, 6]);
  });
});
