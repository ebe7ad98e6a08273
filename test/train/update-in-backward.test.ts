// optim.updateInBackward: AdamW applied to each tensor inside backward gives the same run bit for bit as the
// update after backward (no clipping), with a lower gradient peak; incompatible settings are refused.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../cli-helpers.js';
import { writeFixtureRun, readMetrics } from './fixture-run.js';

type Metric = { loss: number; gradNorm: number; memory: { gradients: number } };

async function runWith(method: object, updateInBackward: boolean) {
  const r = writeFixtureRun({ method, optim: { lr: 1e-2, weightDecay: 0.1, maxGradNorm: null, updateInBackward } }, 6);
  const res = await runCli(['train', r.configPath]);
  expect(res.code, res.err).toBe(0);
  return { metrics: readMetrics(r.out) as unknown as Metric[], weights: readFileSync(join(r.out, 'final', 'model.safetensors')) };
}

describe('optim.updateInBackward', () => {
  for (const method of [{ kind: 'full' }, { kind: 'lisa', gamma: 2, period: 2, seed: 4 }]) {
    it(`${method.kind}: same losses and final weights bit for bit, lower gradient peak`, async () => {
      const after = await runWith(method, false);
      const inside = await runWith(method, true);
      expect(inside.metrics.map((m) => m.loss)).toEqual(after.metrics.map((m) => m.loss));
      expect(inside.weights.equals(after.weights)).toBe(true);
      inside.metrics.forEach((m, i) => expect(Math.abs(m.gradNorm - after.metrics[i].gradNorm)).toBeLessThan(1e-9 * after.metrics[i].gradNorm));
      const peak = (ms: Metric[]) => Math.max(...ms.map((m) => m.memory.gradients));
      expect(peak(inside.metrics)).toBeLessThan(peak(after.metrics));
    });
  }

  it('refuses clipping or gradient accumulation, naming the keys', async () => {
    const clip = writeFixtureRun({ optim: { updateInBackward: true } });
    const r1 = await runCli(['train', clip.configPath]);
    expect(r1.code).toBe(1);
    expect(r1.err).toMatch(/'optim.updateInBackward' = true .*'optim.maxGradNorm' = null .*now 1\)/);
    const accum = writeFixtureRun({ optim: { updateInBackward: true, maxGradNorm: null }, train: { steps: 2, batchSize: 1, gradAccum: 2 } });
    const r2 = await runCli(['train', accum.configPath]);
    expect(r2.code).toBe(1);
    expect(r2.err).toContain("'train.gradAccum' = 1 (now 2)");
  });
});
