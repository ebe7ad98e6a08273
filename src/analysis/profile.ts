// The norms profile `lisa norms --profile` writes for LISA's 'weighted' sampling: each block's update norm from a
// (LoRA) run; the sampler turns them into probabilities proportional to the norms (profileProbabilities).
import { writeTextAtomicSync } from '../io/atomic.js';
import { PROFILE_FORMAT, profileProbabilities, type NormsProfile } from '../finetune/lisa-sampler.js';
import type { RunNorms } from './layer-norms.js';
import { NormsError } from './errors.js';

export function normsProfile(run: RunNorms): NormsProfile {
  const blocks = run.layers.filter((l) => l.layer.startsWith('block.'));
  const norms = blocks.map((l) => l.updateNorm);
  if (!norms.some((x) => x > 0)) throw new NormsError(`run ${run.run}: every block's update norm is 0, so no block can be sampled from them`);
  return {
    format: PROFILE_FORMAT, version: 1, run: run.run, method: run.method, statistic: 'updateNorm', numBlocks: blocks.length,
    norms, probabilities: profileProbabilities(norms),
  };
}

export function writeNormsProfile(path: string, run: RunNorms): NormsProfile {
  const profile = normsProfile(run);
  writeTextAtomicSync(path, `${JSON.stringify(profile, null, 2)}\n`);
  return profile;
}
