// Task evaluation: GSM8K answer extraction on known strings; GSM8K and PubMedQA runs on the shared files with
// the converted stories260K model; PubMedQA's choice equals an independent likelihood computation.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractGsm8kAnswer, gsm8kFinalAnswer, pubmedqaPrompt } from '../../src/data/tasks.js';
import { evalGsm8k, evalPubmedqa, pubmedqaLabelNll } from '../../src/train/eval-tasks.js';
import { runCli } from '../cli-helpers.js';
import { loadModel } from '../../src/models/index.js';
import { loadTokenizer } from '../../src/data/tokenizer.js';
import { noGrad } from '../../src/autograd/tape.js';
import { scope } from '../../src/tensor/scope.js';
import { haveSharedData, sharedData } from '../helpers.js';

describe('GSM8K answer extraction', () => {
  it.each([
    ['She has 3 + 4 = 7 apples.\n#### 7', '7'],
    ['The total is $1,234.50 so #### 1,234.50', '1234.5'],
    ['First 12, then 18, so the answer is 30.', '30'],
    ['It costs -5 dollars.', '-5'],
    ['#### 72\nQuestion: next', '72'],
    ['no numbers here', null],
  ])('%j -> %j', (text, want) => expect(extractGsm8kAnswer(text)).toBe(want));
  it('reads the reference answer after ####', () => {
    expect(gsm8kFinalAnswer('Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72')).toBe('72');
  });
});

const shared = haveSharedData();
describe.runIf(shared)('tasks on the shared files with stories260K', () => {
  let dir = '';
  beforeAll(async () => {
    dir = join(mkdtempSync(join(tmpdir(), 'tasks-')), 'stories');
    await runCli(['convert', 'llama2c', '--checkpoint', join(sharedData, 'models/stories260K/stories260K.bin'),
      '--tokenizer', join(sharedData, 'models/stories260K/tok512.bin'), '--out', dir]);
  });

  it('gsm8k: runs greedy generation over the test file', () => {
    const { model } = loadModel(dir);
    const r = evalGsm8k({ model, tokenizer: loadTokenizer(dir), path: join(sharedData, 'instruct/gsm8k/test.jsonl'), limit: 3, maxNewTokens: 24 });
    expect(r.examples).toBe(3);
    expect(r.completions.map((c) => c.gold)).toEqual(['18', '3', '70000']);
    expect(r.accuracy).toBe(r.correct / 3);
  });

  it('gsm8k: a generation budget as long as the context still leaves the question room (half the context at most)', () => {
    const { model } = loadModel(dir);
    expect(model.maxPositions).toBe(512);
    const r = evalGsm8k({ model, tokenizer: loadTokenizer(dir), path: join(sharedData, 'instruct/gsm8k/test.jsonl'), limit: 1, maxNewTokens: 512 });
    expect(r.examples).toBe(1);
    expect(r.completions[0]!.gold).toBe('18');
  });

  it('pubmedqa: picks the label with the lowest negative log-likelihood, on the official test split', () => {
    const { model } = loadModel(dir);
    const tok = loadTokenizer(dir);
    const path = join(sharedData, 'instruct/pubmedqa/ori_pqal.json');
    const r = evalPubmedqa({ model, tokenizer: tok, path, limit: 4 });
    expect(r.examples).toBe(4);
    // Independent check of the scoring: sum of -log softmax over the label tokens, computed here, on a prompt
    // that fits the 512-token context (the real abstracts are cut from the left).
    const prompt = pubmedqaPrompt({ question: 'Did the girl play in the park?', contexts: ['Lily went to the park to play with her ball.'] });
    const nll = pubmedqaLabelNll(model, tok, prompt);
    const manual = (label: string) => {
      const p = tok.encode(prompt);
      const full = tok.encode(prompt + label);
      const logits = noGrad(() => scope(() => model.forward(Int32Array.from(full), 1, full.length).toArray()));
      const V = model.config.vocabSize;
      let s = 0;
      for (let t = p.length; t < full.length; t++) {
        const row = logits.slice((t - 1) * V, t * V);
        const mx = Math.max(...row);
        const lse = mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
        s += lse - row[full[t]];
      }
      return s;
    };
    for (const d of ['yes', 'no', 'maybe'] as const) expect(Math.abs(nll[d] - manual(` ${d}`))).toBeLessThan(1e-3);
  });

  it('lisa eval --task pubmedqa --json prints accuracy', async () => {
    const { code, out } = await runCli(['eval', '--task', 'pubmedqa', '--model', dir, '--data', join(sharedData, 'instruct/pubmedqa/ori_pqal.json'), '--limit', '2', '--json']);
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(r).toMatchObject({ task: 'pubmedqa', examples: 2 });
    expect(r.accuracy).toBeGreaterThanOrEqual(0);
  });
});
