// A model trained from `model.init` with a tokenizer given as a file (a llama2.c .bin here) exports that
// tokenizer as tokenizer.json beside the weights, so the exported folder is a base later runs can load alone.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/data/tokenizer.js';
import { haveSharedData, repoRoot, sharedData } from '../helpers.js';

describe.runIf(haveSharedData())('export of an init model\'s tokenizer', () => {
  it('writes tokenizer.json that encodes as the source tokenizer', () => {
    const root = mkdtempSync(join(tmpdir(), 'lisa-export-tok-'));
    const tok = join(sharedData, 'models', 'stories260K', 'tok512.bin');
    const config = {
      model: { init: { architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 512, hidden_size: 16, intermediate_size: 32,
        num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 64 }, tokenizer: tok },
      data: { path: join(sharedData, 'text', 'tinystories_sample.txt'), format: 'text', maxLength: 64, evalSplit: 0 },
      method: { kind: 'full' }, train: { steps: 1, batchSize: 2 }, out: join(root, 'out'),
    };
    writeFileSync(join(root, 'c.json'), JSON.stringify(config));
    execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/train/run-cli.ts'), 'train', join(root, 'c.json')],
      { cwd: repoRoot, env: { ...process.env, CI: 'true' }, stdio: 'pipe' });
    const final = join(root, 'out', 'final');
    expect(existsSync(join(final, 'tokenizer.json'))).toBe(true);
    const text = 'Once upon a time, Lily saw a big red ball.';
    expect(loadTokenizer(final).encode(text)).toEqual(loadTokenizer(tok).encode(text));
  }, 60_000);
});
