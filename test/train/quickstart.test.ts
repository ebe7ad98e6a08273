// `lisa quickstart` with tiny step counts: the task generator, the character tokenizer, and the whole pipeline
// (files, LISA's active blocks, eval loss going down, `lisa generate` on the result, the CLI's arguments).
import { describe, it, expect, vi, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PRETRAIN_FORMS, QUESTION_TEMPLATES, charTokenizerFiles, equationText, instructionExample, instructionPrompt, makeArithmeticTask,
  pretrainExample, pretrainText, questionText, taskCharacters,
} from '../../src/data/synthetic.js';
import { loadTokenizer, tokenizerFromFiles, writeTokenizerFiles } from '../../src/data/tokenizer.js';
import { IGNORE_INDEX } from '../../src/data/example.js';
import { readPretokenized } from '../../src/data/pretokenized.js';
import { loadConfig } from '../../src/train/config.js';
import { loadModel } from '../../src/models/index.js';
import { runQuickstart, formatQuickstartSummary, type QuickstartResult } from '../../src/train/quickstart.js';
import { main } from '../../src/cli/main.js';

vi.setConfig({ testTimeout: 180_000 });

const tmp = mkdtempSync(join(tmpdir(), 'lisa-quickstart-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('synthetic arithmetic task', () => {
  it('is deterministic per seed, correct, in range, with a disjoint held-out split', () => {
    const a = makeArithmeticTask({ seed: 7 });
    expect(makeArithmeticTask({ seed: 7 })).toEqual(a);
    expect(makeArithmeticTask({ seed: 8 }).test).not.toEqual(a.test);
    expect(a.test).toHaveLength(200);
    expect(a.train.length + a.test.length).toBe(90 * 90 + (90 * 91) / 2);
    const key = (p: { a: number; b: number; op: string }) => `${p.a}${p.op}${p.b}`;
    const train = new Set(a.train.map(key));
    expect(a.test.some((p) => train.has(key(p)))).toBe(false);
    expect(train.size).toBe(a.train.length);
    for (const p of [...a.train, ...a.test]) {
      expect(p.answer).toBe(p.op === '+' ? p.a + p.b : p.a - p.b);
      expect(p.answer).toBeGreaterThanOrEqual(0);
      expect(Math.min(p.a, p.b)).toBeGreaterThanOrEqual(10);
      expect(Math.max(p.a, p.b)).toBeLessThanOrEqual(99);
    }
    expect(new Set(a.train.map((p) => p.template)).size).toBe(QUESTION_TEMPLATES.length);
    expect(new Set(a.train.map((p) => p.op))).toEqual(new Set(['+', '-']));
    const p = { a: 23, b: 58, op: '+' as const, answer: 81, template: 0 };
    expect(questionText(p)).toBe('What is 23 + 58?');
    expect(questionText({ ...p, template: 2 })).toBe('What is 23 plus 58?');
    expect(questionText({ a: 58, b: 23, op: '-', answer: 35, template: 2 })).toBe('What is 58 minus 23?');
    expect(equationText(p)).toBe('23 + 58 = 81');
    expect(() => makeArithmeticTask({ seed: 1, minOperand: 5, maxOperand: 5 })).toThrow(/minOperand/);
  });

  it('has a character tokenizer.json that round-trips every text of the task', () => {
    const dir = join(tmp, 'tok');
    writeTokenizerFiles(dir, charTokenizerFiles());
    const tok = loadTokenizer(dir);
    expect(tok.vocabSize).toBe(4 + taskCharacters().length);
    expect([tok.padId, tok.bosId, tok.eosId, tok.unkId]).toEqual([0, 1, 2, 3]);
    const task = makeArithmeticTask({ seed: 1, testSize: 50 });
    for (const p of task.test) {
      const texts = [...PRETRAIN_FORMS.map((_, f) => pretrainText(p, f)), instructionPrompt(questionText(p)) + p.answer];
      for (const text of texts) {
        const ids = tok.encode(text);
        expect(ids[0]).toBe(tok.bosId);
        expect(ids).toHaveLength(text.length + 1); // one token per character
        expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(text);
        expect(tok.decode(ids)).toBe(`<s>${text}`);
      }
    }
    expect(tok.encode('1 + 1</s>', { addSpecialTokens: false })).toEqual([...tok.encode('1 + 1', { addSpecialTokens: false }), tok.eosId]);
    expect(tok.encode('1 ~ 1', { addSpecialTokens: false })[2]).toBe(tok.unkId);
  });

  it('masks the prompt of instruction examples and ends both formats with </s>', () => {
    const tok = tokenizerFromFiles(charTokenizerFiles());
    const p = { a: 23, b: 58, op: '+' as const, answer: 81, template: 0 };
    const e = instructionExample(tok, p);
    const promptLen = tok.encode(instructionPrompt(questionText(p))).length;
    expect(e.labels.slice(0, promptLen).every((l) => l === IGNORE_INDEX)).toBe(true);
    expect(e.labels.slice(promptLen)).toEqual(e.ids.slice(promptLen));
    expect(tok.decode(e.ids.slice(promptLen))).toBe('81</s>');
    const pre = pretrainExample(tok, p);
    expect(pre.labels).toEqual(pre.ids);
    expect(tok.decode(pre.ids)).toBe('<s>23 + 58 = 81</s>');
    expect(tok.decode(pretrainExample(tok, p, 1).ids)).toBe('<s>Q: What is 23 + 58? A: 81</s>');
    expect(tok.decode(pretrainExample(tok, p, 2).ids)).toBe('<s>Q: What is 23 + 58?\nA: 81</s>');
    expect(() => pretrainText(p, PRETRAIN_FORMS.length)).toThrow(/form/);
  });
});

describe('lisa quickstart pipeline (tiny)', () => {
  let r: QuickstartResult;
  const out = join(tmp, 'run');
  const lines: string[] = [];

  it('runs both stages end to end and lowers the held-out eval loss with LISA', async () => {
    r = await runQuickstart({
      out, stepsPretrain: 40, stepsFinetune: 30, seed: 3, testProblems: 40, accuracyProblems: 8, samples: 3,
      model: { hidden_size: 32, intermediate_size: 64, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2 },
      log: (s) => lines.push(s),
    });
    expect(r.finetune.evalLossAfter).toBeLessThan(r.finetune.evalLossBefore);
    expect(Number.isFinite(r.pretrain.evalLoss)).toBe(true);
    expect(r.finetune.accuracy.total).toBe(8);
    expect(r.samples).toHaveLength(3);
    for (const s of r.samples) expect(s.correct).toBe(s.answer === s.expected);
    expect(lines.some((l) => l.includes('[lisa] step 30/30'))).toBe(true);
    // 40 steps cannot reach the default target: stage 1 runs to its cap and says so.
    expect(r.pretrain).toMatchObject({ steps: 40, target: 0.15, targetReached: false });
    expect(lines.some((l) => l.includes('warning: the validation answer loss was') && l.includes('above the target 0.15'))).toBe(true);
    const summary = formatQuickstartSummary(r);
    expect(summary).toContain('before LISA');
    expect(summary).toContain('exact match');
    expect(summary).toContain('target 0.15 NOT reached');
  });

  it('writes the tokenizer, data, configs, both models and results', () => {
    for (const f of ['tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json', 'data/pretrain.jsonl', 'data/pretrain-eval.jsonl',
      'data/instruct.jsonl', 'data/instruct-eval.jsonl', 'data/test.jsonl', 'stage1-pretrain.yaml', 'stage2-lisa.yaml', 'results.json',
      'stage1-pretrain/metrics.jsonl', 'stage2-lisa/metrics.jsonl']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    for (const dir of [r.pretrain.dir, r.finetune.dir]) {
      expect(readdirSync(dir)).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']));
      const { model } = loadModel(dir);
      expect(model.blocks).toHaveLength(4);
      model.dispose();
    }
    // The generated configs validate and point at each other.
    const c1 = loadConfig(join(out, 'stage1-pretrain.yaml'));
    const c2 = loadConfig(join(out, 'stage2-lisa.yaml'));
    expect(c1.method.kind).toBe('full');
    expect(c2.method).toMatchObject({ kind: 'lisa', gamma: 2, period: 5 });
    expect(c2.model).toBe(r.pretrain.dir);
    expect(c1.train.steps).toBe(40);
    // Every LISA step had exactly 2 active blocks, resampled every 5 steps.
    const metrics = readFileSync(join(out, 'stage2-lisa/metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics).toHaveLength(30);
    for (const m of metrics) expect(m.activeLayers).toHaveLength(2);
    for (let i = 0; i < 30; i++) expect(metrics[i].activeLayers).toEqual(metrics[i - (i % 5)].activeLayers);
    // The instruction data masks prompts; the eval file is the held-out split.
    const evalRows = readPretokenized(join(out, 'data/instruct-eval.jsonl'));
    expect(evalRows).toHaveLength(40);
    expect(evalRows.every((e) => e.labels[0] === IGNORE_INDEX)).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).finetune.evalLossAfter).toBe(r.finetune.evalLossAfter);
  });

  it('leaves model folders that `lisa generate` runs on', async () => {
    let text = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { text += String(s); return true; });
    const code = await main(['generate', '--model', r.finetune.dir, '--prompt', instructionPrompt('What is 12 + 34?'),
      '--temperature', '0', '--max-new-tokens', '4']);
    spy.mockRestore();
    expect(code).toBe(0);
    expect(text.startsWith(instructionPrompt('What is 12 + 34?'))).toBe(true);
  });
});

describe('lisa quickstart stage-1 stopping rule', () => {
  it('stops stage 1 at the first evaluation that reaches the target, exports there and records the steps run', async () => {
    const out = join(tmp, 'stop');
    const lines: string[] = [];
    // Every loss is below 100, so the first evaluation (step 5) reaches the target; the cap is 40.
    const r = await runQuickstart({
      out, stepsPretrain: 40, pretrainTarget: 100, stepsFinetune: 2, seed: 2, testProblems: 20, accuracyProblems: 4, samples: 1,
      validationProblems: 7, hyper: { evalEveryPretrain: 5 },
      model: { hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 },
      log: (s) => lines.push(s),
    });
    expect(r.pretrain).toMatchObject({ steps: 5, target: 100, targetReached: true });
    expect(lines.some((l) => l.includes('target reached at step 5'))).toBe(true);
    expect(lines.some((l) => l.includes('warning'))).toBe(false);
    const metrics = readFileSync(join(out, 'stage1-pretrain/metrics.jsonl'), 'utf8').trim().split('\n');
    expect(metrics).toHaveLength(5);
    // The YAML says the steps actually run, so `lisa train` on it reruns stage 1 as it was.
    expect(loadConfig(join(out, 'stage1-pretrain.yaml')).train.steps).toBe(5);
    expect(existsSync(join(r.pretrain.dir, 'model.safetensors'))).toBe(true);
    // The stopping rule's eval file: 7 validation problems in each layout, only answer and </s> as targets,
    // none of them among the training or test problems.
    const evalRows = readPretokenized(join(out, 'data/pretrain-eval.jsonl'));
    expect(evalRows).toHaveLength(7 * PRETRAIN_FORMS.length);
    const tok = loadTokenizer(join(out, 'tokenizer'));
    for (const e of evalRows) {
      const target = e.labels.filter((l) => l !== IGNORE_INDEX);
      expect(tok.decode(target)).toMatch(/^\d+<\/s>$/);
      expect(e.labels.slice(-target.length)).toEqual(e.ids.slice(-target.length));
    }
    const task = makeArithmeticTask({ seed: 2, testSize: 20 });
    const train = readPretokenized(join(out, 'data/instruct.jsonl'));
    expect(train).toHaveLength(task.train.length - 7);
    expect(tok.decode(evalRows[0].ids, { skipSpecialTokens: true })).toBe(pretrainText(task.train[0], 0));
  });
});

describe('lisa quickstart CLI', () => {
  it('rejects bad step counts and seeds', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await main(['quickstart', '--out', join(tmp, 'bad'), '--steps-pretrain', '0'])).not.toBe(0);
    expect(await main(['quickstart', '--out', join(tmp, 'bad'), '--steps-finetune', 'x'])).not.toBe(0);
    expect(await main(['quickstart', '--out', join(tmp, 'bad'), '--seed', '-1'])).not.toBe(0);
    expect(await main(['quickstart', '--out', join(tmp, 'bad'), '--pretrain-target', '-0.1'])).not.toBe(0);
    err.mockRestore();
    expect(existsSync(join(tmp, 'bad'))).toBe(false);
  });

  it('runs with the default model and prints the results', async () => {
    let text = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { text += String(s); return true; });
    const code = await main(['quickstart', '--out', join(tmp, 'cli'), '--steps-pretrain', '2', '--steps-finetune', '2', '--seed', '1']);
    spy.mockRestore();
    expect(code).toBe(0);
    expect(text).toMatch(/eval loss \(held-out answers\): \d+\.\d+ before LISA -> \d+\.\d+ after/);
    expect(text).toMatch(/exact match, greedy, held-out questions: .*% \(\d+\/200\)/);
    expect(text).toContain('samples (held-out questions)');
    expect(existsSync(join(tmp, 'cli', 'stage2-lisa', 'final', 'model.safetensors'))).toBe(true);
  });
});
