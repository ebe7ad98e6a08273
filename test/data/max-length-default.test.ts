// data.maxLength defaults to the model's context (capped at 2048); an explicit value longer than it stays an error.
import { describe, it, expect } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDirs } from '../cli-helpers.js';
import { Rng } from '../../src/util/rng.js';
import { dataMaxLength } from '../../src/train/config.js';

const tmp = tempDirs('maxlen');

/** A config for a 64-token Llama from init on 12 pre-tokenized rows of 100 tokens (longer than the context). */
function writeRun(data: Record<string, unknown>): string {
  const root = tmp();
  const rng = new Rng(5);
  const rows = Array.from({ length: 12 }, () => JSON.stringify({ input_ids: Array.from({ length: 100 }, () => rng.int(64)) }));
  writeFileSync(join(root, 'data.jsonl'), `${rows.join('\n')}\n`);
  const config = {
    model: { init: { architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 64, hidden_size: 16,
      intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 2,
      max_position_embeddings: 64, rms_norm_eps: 1e-5, tie_word_embeddings: false } },
    data: { path: join(root, 'data.jsonl'), evalSplit: 0, ...data },
    method: { kind: 'full' },
    train: { steps: 2, batchSize: 2, logEvery: 1 },
    out: join(root, 'out'),
  };
  const path = join(root, 'config.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

describe('data.maxLength default', () => {
  it('is the context capped at 2048', () => {
    expect(dataMaxLength({ data: { maxLength: undefined } } as never, 64)).toBe(64);
    expect(dataMaxLength({ data: { maxLength: undefined } } as never, 32768)).toBe(2048);
    expect(dataMaxLength({ data: { maxLength: 16 } } as never, 64)).toBe(16);
  });

  it('a config without data.maxLength trains a model whose context is 64', async () => {
    const r = await runCli(['train', writeRun({})]);
    expect(r.code, r.err).toBe(0);
    // Every 100-token row was cut to the context, which can only happen with maxLength = 64.
    expect(r.err).toContain('12 of 12 examples were longer than data.maxLength = 64 and were truncated');
  }, 120_000);

  it('an explicit value longer than the context is an error', async () => {
    const r = await runCli(['train', writeRun({ maxLength: 65 })]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("data.maxLength = 65 is longer than the model's context (64)");
  }, 60_000);
});
