// `lisa train examples/alpaca-lisa.yaml --dry-run` with a tiny model: prints the resolved config, the dataset summary
// (counts, tokens, truncation and the masked fraction computed here from the tokenizer), the parameter counts (by
// hand), the memory table `lisa memory` prints for the same shape, and two measured steps; exits 0 and writes nothing.
import { describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { charTokenizerFiles } from '../../src/data/synthetic.js';
import { tokenizerFromFiles, writeTokenizerFiles } from '../../src/data/tokenizer.js';
import { alpacaPrompt } from '../../src/data/alpaca.js';
import { runCli, tempDirs } from '../cli-helpers.js';
import { repoRoot } from '../helpers.js';

const tmp = tempDirs('lisa-dry-run');
const EXAMPLE = join(repoRoot, 'examples/alpaca-lisa.yaml');
const C = 32;
const V_CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:#\n'];

describe('lisa train --dry-run', () => {
  it('prints the estimate for examples/alpaca-lisa.yaml on a tiny model and exits 0 without writing anything', async () => {
    const dir = tmp();
    const files = charTokenizerFiles(V_CHARS);
    writeTokenizerFiles(join(dir, 'tok'), files);
    const tok = tokenizerFromFiles(files);
    const V = tok.vocabSize;
    const records = Array.from({ length: 20 }, (_, i) => ({ instruction: `Add ${i} and 3.`, input: '', output: i < 3 ? 'x'.repeat(300) : `${i + 3}` }));
    writeFileSync(join(dir, 'alpaca.json'), JSON.stringify(records));
    const init = { model_type: 'llama', vocab_size: V, hidden_size: C, intermediate_size: 64, num_hidden_layers: 4, num_attention_heads: 4, max_position_embeddings: 256 };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(init));
    const out = join(dir, 'run');
    const r = await runCli(['train', EXAMPLE, '--dry-run', '--set', `model=${JSON.stringify({ init, tokenizer: join(dir, 'tok') })}`,
      `data.path=${join(dir, 'alpaca.json')}`, 'data.maxLength=256', `out=${out}`]);
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(false); // no run folder, lock, checkpoint or metrics
    // The resolved config, defaults filled in (minLrRatio and updateInBackward are not in the example).
    expect(r.out).toMatch(/^ {4}minLrRatio: 0$/m);
    expect(r.out).toMatch(/^ {4}updateInBackward: false$/m);
    expect(r.out).toMatch(/^ {4}period: 20$/m);
    // Data: 20 records, evalSplit 0.05 -> 1 held out; the 3 long answers are cut to 256 tokens.
    const lengths = records.map((x) => Math.min(256, 1 + alpacaPrompt(x.instruction).length + x.output.length + 1));
    const prompts = records.map((x) => 1 + alpacaPrompt(x.instruction).length);
    const masked = prompts.reduce((a, b) => a + b, 0) / lengths.reduce((a, b) => a + b, 0);
    expect(r.out).toContain('alpaca, 20 records -> 19 training + 1 held-out examples');
    expect(r.out).toContain(`tokens: ${lengths.reduce((a, b) => a + b, 0).toLocaleString('en-US')} (longest 256, data.maxLength 256); truncated: 3; skipped: 0; masked fraction: ${masked.toFixed(3)}`);
    // Parameters by hand: a block has q,k,v,o (4 C^2), gate/up/down (3 C x 64) and 2 norms; untied embed and head; final norm.
    const block = 4 * C * C + 3 * C * 64 + 2 * C;
    const total = 4 * block + 2 * V * C + C;
    const trainable = 2 * block + 2 * V * C + C; // gamma 2
    expect(r.out).toContain(`parameters: ${total.toLocaleString('en-US')}, trainable at step 1: ${trainable.toLocaleString('en-US')}`);
    expect(r.out).toMatch(/active blocks \[\d, \d\]/);
    // The memory table is `lisa memory`'s for this model, method and shape.
    const mem = await runCli(['memory', '--config', join(dir, 'config.json'), '--method', 'lisa', '--gamma', '2', '--batch', '2', '--seq', '256', '--seed', '42']);
    expect(mem.code).toBe(0);
    for (const row of ['weights', 'gradients', 'optimizer state', 'activations', 'total']) {
      const value = (text: string) => new RegExp(`^\\s*${row}\\s+(.+)$`, 'm').exec(text)?.[1];
      expect(value(r.out), row).toBe(value(mem.out));
    }
    expect(r.out).toMatch(/steps: 2 optimizer steps of 2 x 8 examples/); // ceil(19 / 16)
    expect(r.out).toMatch(/measured step 1: [\d.]+ s, \d+ tokens in the loss, loss [\d.]+/);
    expect(r.out).toMatch(/measured step 2: [\d.]+ s/);
    expect(r.out).toMatch(/at step 2's pace: \d+ tokens\/s/);
  }, 60_000);
});
