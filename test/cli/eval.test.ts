// `lisa eval`: loss and perplexity of a tiny random model on pre-tokenized rows equal an independent
// computation (forward per row, log-softmax by hand in float64); batching does not change them; errors name
// the file and row.
import { beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, initWeights, loadModel, parseConfig, saveModel, type CausalLM } from '../../src/models/index.js';
import { evalLm } from '../../src/train/eval-lm.js';
import { noGrad } from '../../src/autograd/tape.js';
import { Rng } from '../../src/util/rng.js';
import { runCli, tempDirs } from '../cli-helpers.js';

const run = runCli;

const tmp = tempDirs('lisa-cli-eval');

const V = 40;
const CTX = 16;
const cfgs = {
  llama: { model_type: 'llama', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, max_position_embeddings: CTX },
  gpt2: { model_type: 'gpt2', vocab_size: V, n_positions: CTX, n_embd: 16, n_layer: 2, n_head: 2 },
};

/** Rows of different lengths (one of length 1: it has no next token and adds nothing). */
function makeRows(): number[][] {
  const rng = new Rng(9);
  return [5, 16, 1, 9, 2, 12, 7].map((n) => Array.from({ length: n }, () => rng.int(V)));
}

/** Sum over rows and positions t < T-1 of -log softmax(logits[t])[ids[t+1]], each row on its own, in float64. */
function reference(model: CausalLM, rows: number[][]): { loss: number; tokens: number } {
  let sum = 0;
  let tokens = 0;
  for (const ids of rows) {
    const y = noGrad(() => model.forward(Int32Array.from(ids), 1, ids.length).toArray()); // (1, T, V)
    for (let t = 0; t + 1 < ids.length; t++) {
      const row = y.slice(t * V, (t + 1) * V);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
      sum += lse - row[ids[t + 1]];
      tokens++;
    }
  }
  return { loss: sum / tokens, tokens };
}

describe.each(Object.entries(cfgs))('lisa eval (%s, pre-tokenized)', (_name, cfg) => {
  let dir = '';
  let data = '';
  let rows: number[][] = [];
  beforeAll(() => {
    const root = tmp();
    dir = join(root, 'model');
    const m = createModel(parseConfig(cfg));
    initWeights(m, new Rng(2), 0.4);
    saveModel(dir, m);
    m.dispose();
    rows = makeRows();
    data = join(root, 'rows.jsonl');
    writeFileSync(data, rows.map((ids) => JSON.stringify({ input_ids: ids })).join('\n') + '\n');
  });

  it('--json loss, perplexity and tokens equal an independent computation (folder without tokenizer files)', async () => {
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    const { model } = loadModel(dir);
    const ref = reference(model, rows);
    model.dispose();
    expect(ref.tokens).toBe(4 + 15 + 0 + 8 + 1 + 11 + 6);
    for (const batch of ['1', '3', '8']) {
      const r = await run(['eval', '--model', dir, '--data', data, '--json', '--batch-size', batch]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out) as { loss: number; perplexity: number; tokens: number };
      expect(Object.keys(j)).toEqual(['loss', 'perplexity', 'tokens']);
      expect(j.tokens).toBe(ref.tokens);
      expect(Math.abs(j.loss - ref.loss)).toBeLessThan(1e-5);
      expect(Math.abs(j.perplexity - Math.exp(ref.loss)) / j.perplexity).toBeLessThan(1e-5);
    }
  });

  it('prints a readable line without --json', async () => {
    const r = await run(['eval', '--model', dir, '--data', data]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/rows\.jsonl: loss \d+\.\d{6} \(nats\/token\), perplexity \d+\.\d{4}, 45 tokens\n$/);
  });

  it('--limit and --max-length', async () => {
    const { model } = loadModel(dir);
    const lim = reference(model, rows.slice(0, 2));
    const cut = reference(model, rows.map((r) => r.slice(0, 4)));
    model.dispose();
    const a = JSON.parse((await run(['eval', '--model', dir, '--data', data, '--json', '--limit', '2'])).out);
    expect(a.tokens).toBe(lim.tokens);
    expect(Math.abs(a.loss - lim.loss)).toBeLessThan(1e-5);
    const b = JSON.parse((await run(['eval', '--model', dir, '--data', data, '--json', '--max-length', '4'])).out);
    expect(b.tokens).toBe(cut.tokens);
    expect(Math.abs(b.loss - cut.loss)).toBeLessThan(1e-5);
  });
});

describe('lisa eval: bad inputs', () => {
  let dir = '';
  let root = '';
  beforeAll(() => {
    root = tmp();
    dir = join(root, 'model');
    const m = createModel(parseConfig(cfgs.llama));
    initWeights(m, new Rng(2));
    saveModel(dir, m);
    m.dispose();
  });
  const file = (name: string, text: string) => {
    const p = join(root, name);
    writeFileSync(p, text);
    return p;
  };

  it('a row longer than the context names the file and row', async () => {
    const p = file('long.jsonl', `{"input_ids":[1,2,3]}\n{"input_ids":[${Array.from({ length: 20 }, () => 3).join(',')}]}\n`);
    const r = await run(['eval', '--model', dir, '--data', p]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/long\.jsonl: row 2 has 20 tokens, more than the model's context of 16; set a max length to truncate/);
  });

  it('ids outside the vocabulary name the file and line', async () => {
    const p = file('oov.jsonl', '{"input_ids":[1,2,3]}\n{"input_ids":[1,40]}\n');
    const r = await run(['eval', '--model', dir, '--data', p]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/oov\.jsonl:2: 'input_ids' must be a non-empty array of token ids in \[0, 40\)/);
  });

  it('no position to predict, unknown format, a task without tokenizer files, missing data', async () => {
    const one = file('one.jsonl', '{"input_ids":[1]}\n{"input_ids":[7]}\n');
    expect((await run(['eval', '--model', dir, '--data', one])).err).toMatch(/one\.jsonl: no position has a next token to predict/);
    const f = await run(['eval', '--model', dir, '--data', one, '--format', 'csv']);
    expect(f.code).toBe(1);
    expect(f.err).toMatch(/option '--format <format>' argument 'csv' is invalid\. Allowed choices are auto, alpaca, chat, sharegpt/);
    const a = await run(['eval', '--model', dir, '--data', one, '--format', 'alpaca']);
    expect(a.code).toBe(1);
    expect(a.err).toMatch(/TokenizerFileError: .*model: no tokenizer found/);
    const t = await run(['eval', '--model', dir, '--data', one, '--task', 'gsm8k']);
    expect(t.code).toBe(1);
    expect(t.err).toMatch(/TokenizerFileError: .*no tokenizer found/);
    const m = await run(['eval', '--model', dir, '--data', join(root, 'nope.jsonl')]);
    expect(m.code).toBe(1);
    expect(m.err).toMatch(/nope\.jsonl: cannot read the data file \(ENOENT\)/);
  });

  it('evalLm checks its options', () => {
    const { model } = loadModel(dir);
    const p = file('ok.jsonl', '{"input_ids":[1,2,3]}\n');
    expect(() => evalLm(model, p, { batchSize: 0 })).toThrow(/batch size must be a positive integer, got 0/);
    expect(() => evalLm(model, p, { maxLength: 1 })).toThrow(/max length must be an integer >= 2, got 1/);
    expect(evalLm(model, p).tokens).toBe(2);
    model.dispose();
  });
});
