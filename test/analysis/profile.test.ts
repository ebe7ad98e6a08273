// Norms profiles as LISA's weighted sampler reads them: probabilities follow from the norms (p_i = n_i / sum),
// a bare array still works, and a profile that does not fit the model is refused naming the file.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LisaSampler, profileProbabilities } from '../../src/finetune/lisa-sampler.js';
import { normsProfile } from '../../src/analysis/profile.js';
import { tempDirs } from '../cli-helpers.js';

const tmp = tempDirs('lisa-profile');
const write = (v: unknown) => {
  const p = join(tmp(), 'profile.json');
  writeFileSync(p, JSON.stringify(v));
  return p;
};
const sampler = (profile: string, numBlocks = 3) => new LisaSampler({ numBlocks, gamma: 1, sampling: 'weighted', profile, seed: 1 });

describe('norms profiles', () => {
  it('a profile from a run: the blocks\' update norms and their normalised probabilities', () => {
    const run = { run: 'r', method: 'lora' as const, layers: [
      { layer: 'embed', meanWeightNorm: 9, updateNorm: 0, adapterNorm: null }, { layer: 'block.0', meanWeightNorm: 1, updateNorm: 1, adapterNorm: 2 },
      { layer: 'block.1', meanWeightNorm: 1, updateNorm: 3, adapterNorm: 2 }, { layer: 'finalNorm', meanWeightNorm: 1, updateNorm: 0, adapterNorm: null },
    ] };
    expect(normsProfile(run)).toEqual({ format: 'lisa-norms-profile', version: 1, run: 'r', method: 'lora', statistic: 'updateNorm', numBlocks: 2, norms: [1, 3], probabilities: [0.25, 0.75] });
    expect(() => normsProfile({ ...run, layers: run.layers.map((l) => ({ ...l, updateNorm: 0 })) })).toThrow(/run r: every block's update norm is 0/);
  });

  it('the sampler reads profiles and bare arrays and refuses those that do not fit, naming the file', () => {
    expect(profileProbabilities([1, 1, 2])).toEqual([0.25, 0.25, 0.5]);
    expect(() => sampler(write([1, 1, 2]))).not.toThrow();
    expect(() => sampler(write({ format: 'lisa-norms-profile', version: 1, numBlocks: 3, norms: [1, 1, 2], probabilities: [0.25, 0.25, 0.5] }))).not.toThrow();
    const wrong = write({ numBlocks: 3, norms: [1, 1, 2], probabilities: [0.5, 0.25, 0.25] });
    expect(() => sampler(wrong)).toThrow(`profile ${wrong}: 'probabilities' do not follow from 'norms'`);
    const short = write({ norms: [1, 2] });
    expect(() => sampler(short)).toThrow(`profile ${short} has 2 block norms, but this model has 3 blocks`);
    const other = write({ numBlocks: 4, norms: [1, 1, 1, 1] });
    expect(() => sampler(other)).toThrow(`profile ${other} was measured on a model with 4 blocks, but this model has 3`);
    const negative = write({ norms: [1, -1, 1] });
    expect(() => sampler(negative)).toThrow(`profile ${negative} must hold an array of non-negative numbers`);
  });
});
