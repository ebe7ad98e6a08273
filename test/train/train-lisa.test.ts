// `lisa train` with LISA on a tiny Llama and pre-tokenized data: per-step losses match the PyTorch reference.
import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../cli-helpers.js';
import { loadModel } from '../../src/models/index.js';
import { writeFixtureRun, readMetrics, lisaFixture } from './fixture-run.js';

describe('lisa train (LISA, pre-tokenized, fixed schedule)', () => {
  it('writes per-step losses that match the PyTorch reference within 1e-4 relative', async () => {
    const { configPath, out } = writeFixtureRun();
    expect((await runCli(['train', configPath])).code).toBe(0);
    const metrics = readMetrics(out);
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    metrics.forEach((m, i) => expect(Math.abs(m.loss - lisaFixture.losses.reset[i]) / lisaFixture.losses.reset[i]).toBeLessThan(1e-4));
    expect(metrics.map((m) => m.activeLayers)).toEqual([[0, 1], [0, 1], [2], [2], [1, 3], [1, 3], [0, 1], [0, 1]]);
    expect(readdirSync(join(out, 'final')).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(existsSync(join(out, 'final', 'model.safetensors'))).toBe(true);
    loadModel(join(out, 'final')).model.dispose();
  });
});
