// `lisa generate`: streams greedy stories260K text equal to the PyTorch fixture's tokens, continues a prompt,
// samples reproducibly with a seed; a folder without tokenizer files and bad options exit 1.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertLlama2cCheckpoint } from '../../src/io/llama2c.js';
import { convertLlama2cTokenizer, loadTokenizer, writeTokenizerFiles } from '../../src/data/tokenizer.js';
import { createModel, initWeights, loadModel, parseConfig, saveModel } from '../../src/models/index.js';
import { generate } from '../../src/models/generate.js';
import { Rng } from '../../src/util/rng.js';
import { haveSharedData, repoRoot, sharedData } from '../helpers.js';
import { runCli, tempDirs } from '../cli-helpers.js';

/** Runs the CLI and captures stdout (and how many writes it took) and stderr. */
const run = runCli;

const tmp = tempDirs('lisa-cli-gen');
const STORIES = join(sharedData, 'models/stories260K');
const fixture = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/stories260k.json'), 'utf8')) as { greedy: { tokens: number[] } };

describe.skipIf(!haveSharedData())('lisa generate (stories260K)', () => {
  let dir = '';
  beforeAll(() => {
    dir = tmp();
    convertLlama2cCheckpoint(join(STORIES, 'stories260K.bin'), dir);
    writeTokenizerFiles(dir, convertLlama2cTokenizer(join(STORIES, 'tok512.bin')));
  });

  it('greedy from an empty prompt streams the fixture\'s story', async () => {
    const r = await run(['generate', '--model', dir, '--prompt', '', '--temperature', '0', '--max-new-tokens', '200']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const expected = loadTokenizer(dir).decode([1, ...fixture.greedy.tokens], { skipSpecialTokens: true });
    expect(r.out).toBe(`${expected}\n`);
    expect(r.out.startsWith('Once upon a time, there was a little girl named Lily. She loved to play outside in the park.')).toBe(true);
    expect(r.writes).toBeGreaterThan(100);
  });

  it('continues a prompt (the prompt is printed first)', async () => {
    const prompt = 'Once upon a time, there was a big dog';
    const r = await run(['generate', '--model', dir, '--prompt', prompt, '--temperature', '0', '--max-new-tokens', '30']);
    expect(r.code).toBe(0);
    const tok = loadTokenizer(dir);
    const ids = tok.encode(prompt);
    expect(ids[0]).toBe(1);
    const { model } = loadModel(dir);
    const gen = generate(model, ids, { maxNewTokens: 30, temperature: 0, eosIds: [1, 2] }).tokens;
    expect(r.out).toBe(`${tok.decode([...ids, ...gen], { skipSpecialTokens: true })}\n`);
    expect(r.out.startsWith(prompt)).toBe(true);
    model.dispose();
  });

  it('sampling is reproducible with --seed', async () => {
    const args = ['generate', '--model', dir, '--prompt', 'Lily', '--temperature', '1', '--top-k', '40', '--top-p', '0.9', '--max-new-tokens', '40'];
    const a = await run([...args, '--seed', '5']);
    const b = await run([...args, '--seed', '5']);
    const c = await run([...args, '--seed', '6']);
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    expect(c.out).not.toBe(a.out);
    expect(a.out.startsWith('Lily')).toBe(true);
  });
  it('a prompt longer than the context fails before printing anything', async () => {
    const r = await run(['generate', '--model', dir, '--prompt', 'Lily saw a dog. '.repeat(200), '--temperature', '0']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/generate: the prompt has \d+ tokens, more than the model's context of 512/);
  });
});

describe('lisa generate: bad inputs', () => {
  it('a model folder without tokenizer files exits 1 naming the folder', async () => {
    const dir = tmp();
    const m = createModel(parseConfig({ model_type: 'llama', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 4 }));
    initWeights(m, new Rng(1));
    saveModel(dir, m);
    const r = await run(['generate', '--model', dir, '--prompt', 'hi']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(dir);
    expect(r.err).toMatch(/no tokenizer found; expected tokenizer\.json/);
  });

  it.each([
    [['--temperature', '-1'], /--temperature must be a number >= 0, got '-1'/],
    [['--top-k', '2.5'], /--top-k must be an integer >= 0, got '2.5'/],
    [['--max-new-tokens', 'many'], /--max-new-tokens must be a number >= 0, got 'many'/],
    [['--top-p', '1.5'], /--top-p must be in \(0, 1\] \(1 = off\), got '1\.5'/],
    [['--top-p', '0'], /--top-p must be in \(0, 1\]/],
  ])('%j is rejected', async (extra, msg) => {
    const r = await run(['generate', '--model', 'nowhere', ...extra]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(msg);
  });
});
