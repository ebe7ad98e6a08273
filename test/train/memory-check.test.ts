// The memory check before a run: a LLaMA-2-7B-shaped LISA run in fp32 does not fit 21 GiB and the warning names
// the settings that do (each re-estimated); `lisa train` prints the warning before it loads the model.
import { describe, it, expect } from 'vitest';
import { parseConfig } from '../../src/models/index.js';
import { validateConfig } from '../../src/train/config.js';
import { memoryWarning } from '../../src/train/memory-check.js';
import { runCli } from '../cli-helpers.js';
import { writeFixtureRun } from './fixture-run.js';

const llama7b = parseConfig({
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008,
  num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32, max_position_embeddings: 4096, rms_norm_eps: 1e-5,
});

describe('memory check before training', () => {
  it('7B LISA fp32 at 21 GiB: warns with the options that fit and their estimates', () => {
    const cfg = validateConfig({
      model: 'unused', data: { path: 'unused.jsonl', maxLength: 256 }, out: 'unused',
      method: { kind: 'lisa', gamma: 2 }, train: { batchSize: 1, steps: 3 },
    });
    const w = memoryWarning(llama7b, cfg, 21 * 1024 ** 3);
    expect(w).toMatch(/^this run needs about \d+\.\d GiB .* but 21\.0 GiB is available\. These would fit: /);
    expect(w).toContain('--set train.weightDtype=bfloat16 train.gradientCheckpointing=true optim.updateInBackward=true optim.maxGradNorm=null (');
    const fits = /These would fit: (.*)\. `lisa memory`/.exec(w!)![1].split('; ');
    for (const f of fits) expect(Number(/\((\d+\.\d) GiB\)$/.exec(f)![1])).toBeLessThanOrEqual(21);
    // With those settings it fits, so no warning.
    const fitted = validateConfig({ ...cfg, optim: { ...cfg.optim, updateInBackward: true, maxGradNorm: null },
      train: { ...cfg.train, weightDtype: 'bfloat16', gradientCheckpointing: true } });
    expect(memoryWarning(llama7b, fitted, 21 * 1024 ** 3)).toBeNull();
  }, 60_000);

  it('lisa train warns before loading when LISA_MEMORY_LIMIT is below the estimate', async () => {
    const r = writeFixtureRun({}, 1);
    process.env.LISA_MEMORY_LIMIT = '0.001GiB';
    try {
      const res = await runCli(['train', r.configPath]);
      expect(res.code).toBe(0);
      expect(res.err).toMatch(/warning: this run needs about 0\.\d GiB .* but 0\.0 GiB is available\. None of/);
    } finally {
      delete process.env.LISA_MEMORY_LIMIT;
    }
  });
});
