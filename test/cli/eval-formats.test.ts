// `lisa eval` on instruction and chat files scores exactly the tokens training learns: its loss equals the
// training loss of the same example (step 1, before the update) and the trainer's own eval, bit for bit, over a
// hand-counted number of answer tokens.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, initWeights, parseConfig, saveModel } from '../../src/models/index.js';
import { loadTokenizer } from '../../src/data/tokenizer.js';
import { Rng } from '../../src/util/rng.js';
import { parquetWriteFile } from 'hyparquet-writer';
import { runCli, tempDirs } from '../cli-helpers.js';
import { haveSharedData, sharedData } from '../helpers.js';

const tmp = tempDirs('lisa-eval-formats');
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Each file holds one example; `scored` is its answer tokens counted by hand with GPT-2's vocabulary. */
const CASES: { name: string; rows: Record<string, unknown>[]; scored: number; parquet?: boolean }[] = [
  // " Paris" "." <|endoftext|>
  { name: 'prompt-completion', rows: [{ prompt: 'The capital of France is', completion: ' Paris.' }], scored: 3 },
  // "Hi" "!" <|endoftext|>
  { name: 'alpaca', rows: [{ instruction: 'Say hi.', input: '', output: 'Hi!' }], scored: 3 },
  { name: 'alpaca (Parquet)', rows: [{ instruction: 'Say hi.', input: '', output: 'Hi!' }], scored: 3, parquet: true },
  // Both responses: "Bon" "j" "our" ".<" "|" "im" "_" "end" "|" ">" "\n", then "Hi" "!" "<" "|" "im" "_" "end" "|" ">" "\n" <|endoftext|>
  { name: 'alpaca with history', rows: [{ instruction: 'Again?', output: 'Hi!', history: [['Greet me in French.', 'Bonjour.']] }], scored: 22 },
  // The fallback ChatML template's assistant turn: "Hi" "!" "<" "|" "im" "_" "end" "|" ">" "\n" <|endoftext|>
  { name: 'sharegpt', rows: [{ conversations: [{ from: 'human', value: 'Say hi.' }, { from: 'gpt', value: 'Hi!' }] }], scored: 11 },
  { name: 'chat', rows: [{ messages: [{ role: 'user', content: 'Say hi.' }, { role: 'assistant', content: 'Hi!' }] }], scored: 11 },
];

describe.runIf(haveSharedData())('lisa eval on instruction and chat data', () => {
  let model = '';
  beforeAll(() => {
    model = join(tmp(), 'model');
    const m = createModel(parseConfig({ model_type: 'gpt2', vocab_size: 50257, n_positions: 128, n_embd: 8, n_layer: 1, n_head: 2 }));
    initWeights(m, new Rng(4), 0.5);
    saveModel(model, m);
    m.dispose();
    loadTokenizer(join(sharedData, 'tokenizers/gpt2')).save(model);
  });

  for (const c of CASES) {
    it(`${c.name}: the eval loss is the training loss of the same example`, async () => {
      const root = tmp();
      const data = join(root, c.parquet ? 'data.parquet' : 'data.jsonl');
      if (c.parquet) {
        const keys = Object.keys(c.rows[0]!) as (keyof (typeof c.rows)[0])[];
        parquetWriteFile({ filename: data, columnData: keys.map((k) => ({ name: k, data: c.rows.map((r) => r[k]), type: 'STRING' as const })) });
      } else writeFileSync(data, jsonl(c.rows));
      const e = await runCli(['eval', '--model', model, '--data', data, '--json']);
      expect(e.code, e.err).toBe(0);
      const ev = JSON.parse(e.out) as { loss: number; tokens: number };
      expect(ev.tokens).toBe(c.scored);

      const out = join(root, 'out');
      const cfg = {
        model, data: { path: data, evalPath: data }, method: { kind: 'full' }, optim: { lr: 1e-3 },
        train: { steps: 1, batchSize: 1, logEvery: 1, evalEvery: 1 }, out,
      };
      writeFileSync(join(root, 'config.json'), JSON.stringify(cfg));
      const t = await runCli(['train', join(root, 'config.json')]);
      expect(t.code, t.err).toBe(0);
      const step1 = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n')[0]!) as { loss: number };
      const eval0 = JSON.parse(readFileSync(join(out, 'eval.jsonl'), 'utf8').split('\n')[0]!) as { step: number; loss: number; tokens: number };
      expect(eval0.step).toBe(0);
      expect(eval0.tokens).toBe(ev.tokens);
      expect(ev.loss).toBe(eval0.loss);
      expect(ev.loss).toBe(step1.loss);
    }, 120_000);
  }

  it('--format names the format; a file that needs a tokenizer reports it', async () => {
    const root = tmp();
    const data = join(root, 'a.jsonl');
    writeFileSync(data, jsonl(CASES[1]!.rows));
    const forced = await runCli(['eval', '--model', model, '--data', data, '--format', 'alpaca', '--json']);
    const auto = await runCli(['eval', '--model', model, '--data', data, '--json']);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.out).toBe(auto.out);
    const unmasked = await runCli(['eval', '--model', model, '--data', data, '--format', 'text', '--json']);
    expect(unmasked.code).toBe(1);
    expect(unmasked.err).toMatch(/a\.jsonl:1: missing 'text'/);
  }, 60_000);
});
