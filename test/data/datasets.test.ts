// Dataset readers (alpaca, chat, text, pretokenized, gsm8k, pubmedqa) with real tokenizers: masking, truncation,
// packing, errors with file:line, format detection, and the real shared files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer, Tokenizer } from '../../src/data/tokenizer.js';
import { IGNORE_INDEX, makeBatch, type Example } from '../../src/data/example.js';
import { DataError } from '../../src/data/data-error.js';
import { detectFormat, loadDataset, loadExamples, type DataOptions } from '../../src/data/load.js';
import { alpacaPrompt, readAlpaca } from '../../src/data/alpaca.js';
import { chatExample, readChat } from '../../src/data/chat.js';
import { encodeLong, PIECE_CHARS, textExamples } from '../../src/data/text.js';
import { packExamples } from '../../src/data/packing.js';
import { promptExample, specialPrefix, targetCount, truncateExample } from '../../src/data/prompt.js';
import {
  extractGsm8kAnswer, gsm8kFinalAnswer, gsm8kPrompt, pubmedqaPrompt, readGsm8k, readPubmedqa, readPubmedqaGroundTruth, splitPubmedqa,
} from '../../src/data/tasks.js';
import { ArgumentError } from '../../src/util/errors.js';
import { haveSharedData, sharedData } from '../helpers.js';
import { CONV } from './conversation.js';

const HAVE = haveSharedData();
const describeData = HAVE ? describe : describe.skip;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
/** Writes `content` to a new temp file named `name` and returns its path. */
function file(name: string, content: string): string {
  const d = mkdtempSync(join(tmpdir(), 'lisa-data-'));
  dirs.push(d);
  const p = join(d, name);
  writeFileSync(p, content);
  return p;
}
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const opts = (path: string, more: Partial<DataOptions> = {}): DataOptions => ({ path, format: 'auto', maxLength: 512, maskPrompt: true, packing: false, ...more });
const learned = (e: Example) => e.ids.filter((_, i) => e.labels[i] !== IGNORE_INDEX);

let gpt2: Tokenizer;
let mistral: Tokenizer;
if (HAVE) {
  gpt2 = loadTokenizer(join(sharedData, 'tokenizers/gpt2'));
  mistral = loadTokenizer(join(sharedData, 'tokenizers/mistral'));
}
const EOT = '<|endoftext|>';

const ALPACA = [
  { instruction: 'Describe a process of making crepes.', input: '', output: 'Making crepes is easy!\n\n1. Mix the batter.\n2. Cook it.' },
  { instruction: 'Translate to French.', input: 'Good morning, friend.', output: 'Bonjour, mon ami.' },
  { instruction: 'Say hi.', output: 'Hi!' },
];

describe('packing (no tokenizer needed)', () => {
  const ex = (n: number, start: number, masked = 0): Example => {
    const ids = Array.from({ length: n }, (_, i) => start + i);
    return { ids, labels: ids.map((id, i) => (i < masked ? IGNORE_INDEX : id)) };
  };
  it('fills rows of exactly maxLength in order, never splits an example, and keeps every target', () => {
    const examples = [ex(5, 100, 2), ex(3, 200), ex(4, 300, 1), ex(8, 400, 3), ex(1, 500), ex(2, 600)];
    const rows = packExamples(examples, 8, 0);
    expect(rows.every((r) => r.ids.length === 8 && r.labels.length === 8)).toBe(true);
    // Greedy: [5+3], [4], [8], [1+2]; tokens conserved in order, padding only at the ends of rows.
    const content = rows.map((r) => r.ids.filter((_, i) => r.labels[i] !== IGNORE_INDEX || r.ids[i] !== 0));
    expect(content.flat()).toEqual(examples.flatMap((e) => e.ids));
    expect(content.map((c) => c.length)).toEqual([8, 4, 8, 3]);
    // The loss sees exactly the same targets as without packing.
    const sum = (xs: Example[]) => xs.reduce((s, e) => s + makeBatch([e]).tokens, 0);
    expect(sum(rows)).toBe(sum(examples));
    expect(rows.reduce((s, r) => s + targetCount(r), 0)).toBe(examples.reduce((s, e) => s + targetCount(e), 0));
    expect(rows[0]!.labels[5]).toBe(IGNORE_INDEX); // the second example's first label: not learned across the seam
    expect(rows[1]!.ids.slice(4)).toEqual([0, 0, 0, 0]);
    expect(rows[1]!.labels.slice(4)).toEqual([IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]);
  });
  it('rejects an example longer than maxLength', () => {
    expect(() => packExamples([ex(9, 1)], 8, 0)).toThrow(ArgumentError);
    expect(() => packExamples([ex(9, 1)], 8, 0)).toThrow(/example 0 has 9 tokens, more than maxLength 8; truncate first/);
  });
});

describe('pretokenized and format detection', () => {
  it('detects every format from the extension and the first record', () => {
    expect(detectFormat(file('a.txt', 'hello'))).toBe('text');
    expect(detectFormat(file('a.md', '# title'))).toBe('text');
    expect(detectFormat(file('a.jsonl', jsonl([{ input_ids: [1, 2] }])))).toBe('pretokenized');
    expect(detectFormat(file('a.jsonl', jsonl([{ messages: [{ role: 'user', content: 'x' }] }])))).toBe('chat');
    expect(detectFormat(file('a.jsonl', jsonl(ALPACA)))).toBe('alpaca');
    expect(detectFormat(file('a.json', JSON.stringify(ALPACA, null, 2)))).toBe('alpaca');
    expect(detectFormat(file('a.jsonl', jsonl([{ question: 'q', answer: 'a\n#### 4' }])))).toBe('gsm8k');
    expect(detectFormat(file('a.jsonl', jsonl([{ text: 'some text' }])))).toBe('text');
    const pqa = { 1: { QUESTION: 'q?', CONTEXTS: ['c'], final_decision: 'yes', LONG_ANSWER: 'l' } };
    expect(detectFormat(file('a.json', JSON.stringify(pqa, null, 4)))).toBe('pubmedqa');
    expect(detectFormat(file('a.json', JSON.stringify(pqa)))).toBe('pubmedqa');
    expect(() => detectFormat(file('a.jsonl', jsonl([{ foo: 1, bar: 2 }])))).toThrow(/a\.jsonl: cannot tell the data format from the first record \(keys: foo, bar\); set data\.format/);
    expect(() => detectFormat(file('a.jsonl', '\n \n'))).toThrow(/a\.jsonl: the dataset is empty/);
    expect(() => detectFormat('/nonexistent/x.jsonl')).toThrow(/\/nonexistent\/x\.jsonl: cannot read the data file \(ENOENT\)/);
  });

  it('pretokenized rows load without a tokenizer, are truncated, and can be packed', () => {
    const p = file('p.jsonl', jsonl([{ input_ids: [1, 2, 3, 4, 5, 6] }, { input_ids: [7, 8] }, { input_ids: [9] }]));
    const warnings: string[] = [];
    const out = loadExamples(opts(p, { maxLength: 4 }), null, 100, (m) => warnings.push(m));
    expect(out).toEqual([{ ids: [1, 2, 3, 4], labels: [1, 2, 3, 4] }, { ids: [7, 8], labels: [7, 8] }]);
    expect(warnings).toEqual([
      expect.stringMatching(/p\.jsonl: 1 of 3 examples were longer than data\.maxLength = 4 and were truncated/),
      expect.stringMatching(/p\.jsonl: skipped 1 examples with no token to learn/),
    ]);
    const packed = loadDataset(opts(p, { maxLength: 4, packing: true }), null, 100);
    expect(packed.examples.map((e) => e.ids)).toEqual([[1, 2, 3, 4], [7, 8, 0, 0]]);
    expect(packed.stats).toMatchObject({ format: 'pretokenized', records: 3, truncated: 1, skipped: 1, examples: 2, rows: 2 });
    expect(() => loadExamples(opts(file('e.jsonl', '\n\n')), null)).toThrow(/e\.jsonl: the dataset is empty/);
    expect(() => loadExamples(opts(p, { format: 'alpaca' }), null)).toThrow(/format 'alpaca' needs a tokenizer/);
  });
});

describeData('alpaca', () => {
  it('uses the documented Alpaca template with and without input', () => {
    expect(alpacaPrompt('Do X.')).toBe(
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nDo X.\n\n### Response:\n');
    expect(alpacaPrompt('Do X.', 'on $1 and $&')).toBe(
      'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n' +
      '### Instruction:\nDo X.\n\n### Input:\non $1 and $&\n\n### Response:\n');
  });

  for (const [name, path] of [['JSONL', () => file('a.jsonl', jsonl(ALPACA))], ['JSON array', () => file('a.json', JSON.stringify(ALPACA, null, 2))]] as const) {
    it(`${name}: learns exactly output + EOS; the prompt tokens are those of encoding the prompt alone (GPT-2)`, () => {
      const p = path();
      const out = loadExamples(opts(p), gpt2);
      expect(out).toHaveLength(3);
      out.forEach((e, i) => {
        const r = ALPACA[i]!;
        const prompt = alpacaPrompt(r.instruction, r.input ?? '');
        expect(gpt2.decode(learned(e))).toBe(r.output + EOT);
        expect(gpt2.decode(e.ids)).toBe(prompt + r.output + EOT);
        const promptIds = gpt2.encode(prompt);
        expect(e.ids.slice(0, promptIds.length)).toEqual(promptIds);
        expect(e.labels.slice(0, promptIds.length).every((l) => l === IGNORE_INDEX)).toBe(true);
        expect(e.labels.slice(promptIds.length)).toEqual(e.ids.slice(promptIds.length));
      });
      const unmasked = loadExamples(opts(p, { maskPrompt: false }), gpt2);
      unmasked.forEach((e, i) => {
        expect(e.labels).toEqual(e.ids);
        expect(e.ids).toEqual(out[i]!.ids);
      });
    });
  }

  it('prepends BOS when the tokenizer adds one (Mistral), once, and masks it', () => {
    expect(specialPrefix(mistral)).toEqual([1]);
    expect(specialPrefix(gpt2)).toEqual([]);
    const out = loadExamples(opts(file('a.jsonl', jsonl(ALPACA))), mistral);
    out.forEach((e, i) => {
      const r = ALPACA[i]!;
      expect(e.ids[0]).toBe(1);
      expect(e.ids.filter((id) => id === 1)).toHaveLength(1);
      expect(e.labels[0]).toBe(IGNORE_INDEX);
      expect(mistral.decode(learned(e))).toBe(`${r.output}</s>`);
      const promptIds = mistral.encode(alpacaPrompt(r.instruction, r.input ?? ''));
      expect(e.ids.slice(0, promptIds.length)).toEqual(promptIds);
      expect(e.ids.at(-1)).toBe(2);
    });
  });

  it('malformed records name the file and the line (JSONL) or the index (JSON array) and the field', () => {
    const bad = (rows: string) => () => loadExamples(opts(file('d.jsonl', rows), { format: 'alpaca' }), gpt2);
    expect(bad(`${JSON.stringify(ALPACA[0])}\n\n{"instruction": "x"}\n`)).toThrow(/d\.jsonl:3: missing 'output' \(expected a string\)/);
    expect(bad(`${JSON.stringify(ALPACA[0])}\n{"instruction": 3, "output": "y"}\n`)).toThrow(/d\.jsonl:2: 'instruction' must be a string, got number 3/);
    expect(bad(`${JSON.stringify(ALPACA[0])}\n{"instruction": "x", "input": [], "output": "y"}\n`)).toThrow(/d\.jsonl:2: 'input' must be a string, got an array/);
    expect(bad(`${JSON.stringify(ALPACA[0])}\n{"instruction": "x",\n`)).toThrow(DataError);
    expect(bad(`${JSON.stringify(ALPACA[0])}\n{"instruction": "x",\n`)).toThrow(/d\.jsonl:2: not valid JSON/);
    expect(bad('[1, 2]\n')).toThrow(/d\.jsonl\[0\]: expected a JSON object, got number 1/);
    const arr = file('d.json', JSON.stringify([ALPACA[0], { instruction: 'x', output: null }], null, 2));
    expect(() => loadExamples(opts(arr), gpt2)).toThrow(/d\.json\[1\]: 'output' must be a string, got null/);
    const broken = file('b.json', '[\n  {"instruction": "x", "output": "y"},\n  {"instruction": "x" "output": "y"}\n]');
    expect(() => loadExamples(opts(broken, { format: 'alpaca' }), gpt2)).toThrow(/b\.json:3: not valid JSON/);
    expect(() => loadExamples(opts(file('e.json', '[]'), { format: 'alpaca' }), gpt2)).toThrow(/e\.json: the dataset is empty/);
  });

  it('truncation keeps the prompt and cuts the response; a prompt that fills maxLength is cut from the left', () => {
    const long = { instruction: 'Count.', input: '', output: Array.from({ length: 200 }, (_, i) => String(i)).join(' ') };
    const p = file('l.jsonl', jsonl([long]));
    const promptLen = gpt2.encode(alpacaPrompt('Count.')).length;
    const [e] = loadExamples(opts(p, { maxLength: promptLen + 10 }), gpt2, undefined, () => {});
    expect(e!.ids).toHaveLength(promptLen + 10);
    expect(gpt2.decode(e!.ids.slice(0, promptLen))).toBe(alpacaPrompt('Count.'));
    expect(long.output.startsWith(gpt2.decode(learned(e!)))).toBe(true);
    // maxLength 16 < the prompt: keep the prompt's end and the response's first 8 tokens.
    const warnings: string[] = [];
    const [c] = loadExamples(opts(p, { maxLength: 16 }), gpt2, undefined, (m) => warnings.push(m));
    expect(c!.ids).toHaveLength(16);
    expect(gpt2.decode(c!.ids.slice(0, 8)).endsWith('### Response:\n')).toBe(true);
    expect(learned(c!)).toHaveLength(8);
    expect(long.output.startsWith(gpt2.decode(learned(c!)))).toBe(true);
    expect(warnings).toEqual([expect.stringMatching(/1 of 1 examples were longer than data\.maxLength = 16/)]);
    // Nothing left to learn is skipped, not an error, unless nothing at all is left.
    const pair = promptExample(gpt2, 'a b c', ' d', true);
    expect(truncateExample({ ids: pair.ids, labels: pair.labels }, 3)).toEqual({ example: null, truncated: true });
    expect(() => loadExamples(opts(p, { maxLength: 1 }), gpt2)).toThrow(/data\.maxLength = 1; expected at least 2/);
  });

  it('packs examples into rows of exactly maxLength with every learned token kept', () => {
    const rows = [...ALPACA, ...ALPACA, ...ALPACA];
    const p = file('a.jsonl', jsonl(rows));
    const plain = loadExamples(opts(p, { maxLength: 128 }), gpt2);
    const packed = loadExamples(opts(p, { maxLength: 128, packing: true }), gpt2);
    expect(packed.length).toBeLessThan(plain.length);
    expect(packed.every((r) => r.ids.length === 128)).toBe(true);
    expect(packed.flatMap((r) => learned(r))).toEqual(plain.flatMap((e) => e.ids.filter((_, i) => i > 0 && e.labels[i] !== IGNORE_INDEX)));
    expect(packed.reduce((s, r) => s + makeBatch([r]).tokens, 0)).toBe(plain.reduce((s, e) => s + makeBatch([e]).tokens, 0));
    expect(gpt2.decode(packed[0]!.ids)).toMatch(/^Below is an instruction/);
  });

  it('rejects token ids outside the model vocabulary', () => {
    expect(() => loadExamples(opts(file('a.jsonl', jsonl(ALPACA))), gpt2, 1000)).toThrow(/example 1: token id \d+ from the tokenizer .* is outside the model's vocabulary of 1000/);
  });
});

describeData('chat', () => {
  const LLAMA2 = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}" +
    "{% elif m['role'] == 'assistant' %}{{ ' ' + m['content'] + eos_token }}{% endif %}{% endfor %}";

  it('fallback ChatML template: only assistant turns (with their end markers) and the final EOS are learned', () => {
    const p = file('c.jsonl', jsonl([{ messages: CONV }]));
    const [e] = loadExamples(opts(p), gpt2);
    expect(gpt2.decode(e!.ids)).toBe(gpt2.applyChatTemplate(CONV) + EOT);
    expect(gpt2.decode(learned(e!))).toBe(`Hello! How can I help?<|im_end|>\n4<|im_end|>\n${EOT}`);
    // Each learned run is an assistant turn; the prompt before it is what the generation prompt renders.
    const firstLearned = e!.labels.findIndex((l) => l !== IGNORE_INDEX);
    expect(gpt2.decode(e!.ids.slice(0, firstLearned))).toBe(gpt2.applyChatTemplate(CONV.slice(0, 2), { addGenerationPrompt: true }));
    const [m] = loadExamples(opts(p), mistral);
    expect(m!.ids[0]).toBe(1);
    expect(mistral.decode(learned(m!))).toBe('Hello! How can I help?<|im_end|>\n4<|im_end|>\n</s>');
    const [u] = loadExamples(opts(p, { maskPrompt: false }), gpt2);
    expect(u!.labels).toEqual(u!.ids);
    expect(u!.ids).toEqual(e!.ids);
  });

  it("the model's template: BOS written by the template is not added twice, EOS rendered is not appended again", () => {
    const tok = new Tokenizer(mistral.json, { ...mistral.config, chat_template: LLAMA2 }, { source: 'mistral+llama2-template' });
    const e = chatExample(tok, CONV, true);
    expect(e.ids.filter((id) => id === 1)).toHaveLength(1);
    expect(tok.decode(e.ids)).toBe('<s> [INST] Hi there [/INST] Hello! How can I help?</s> [INST] 2+2? [/INST] 4</s>');
    expect(tok.decode(learned(e))).toBe('Hello! How can I help?</s> 4</s>');
    expect(e.ids.at(-1)).toBe(2);
    expect(e.ids.filter((id) => id === 2)).toHaveLength(2);
    // A template that rejects the conversation reports the record.
    const strict = new Tokenizer(gpt2.json, { ...gpt2.config, chat_template: "{{ raise_exception('roles must alternate') }}" });
    expect(() => chatExample(strict, CONV, true, 'c.jsonl:7')).toThrow(/c\.jsonl:7: .*chat_template: .*roles must alternate/);
  });

  it('a conversation with nothing to learn is skipped with a warning; malformed messages name the line and field', () => {
    const p = file('c.jsonl', jsonl([{ messages: CONV }, { messages: [{ role: 'user', content: 'no answer' }] }]));
    const warnings: string[] = [];
    expect(loadExamples(opts(p), gpt2, undefined, (w) => warnings.push(w))).toHaveLength(1);
    expect(warnings).toEqual([expect.stringMatching(/c\.jsonl: skipped 1 examples with no token to learn/)]);
    const bad = (rows: string) => () => readChat(file('c.jsonl', rows));
    const ok = JSON.stringify({ messages: CONV });
    expect(bad(`${ok}\n{"messages": [{"role": "user", "content": 5}]}\n`)).toThrow(/c\.jsonl:2: 'messages\[0\]\.content' must be a string, got number 5/);
    expect(bad(`${ok}\n${ok}\n{"messages": [{"content": "x"}]}\n`)).toThrow(/c\.jsonl:3: 'messages\[0\]\.role' must be a non-empty string/);
    expect(bad(`${ok}\n{"messages": []}\n`)).toThrow(/c\.jsonl:2: 'messages' must be a non-empty list/);
    expect(bad(`{"msgs": []}\n`)).toThrow(/c\.jsonl:1: missing 'messages'/);
  });
});

describeData('plain text', () => {
  it('a .txt file is one document cut into maxLength chunks that overlap by one token; every token is a target once', () => {
    const text = readFileSync(join(sharedData, 'text/tinystories_sample.txt'), 'utf8');
    const p = file('s.txt', text);
    for (const tok of [gpt2, mistral]) {
      const all = [...specialPrefix(tok), ...tok.encode(text, { addSpecialTokens: false }), tok.eosId!];
      const chunks = loadExamples(opts(p, { maxLength: 64 }), tok);
      expect(chunks.length).toBe(Math.ceil((all.length - 1) / 63));
      expect(chunks.every((c) => c.ids.length <= 64 && c.labels.every((l, i) => l === c.ids[i]))).toBe(true);
      expect([...chunks[0]!.ids, ...chunks.slice(1).flatMap((c) => c.ids.slice(1))]).toEqual(all);
      expect(chunks.reduce((s, c) => s + makeBatch([c]).tokens, 0)).toBe(all.length - 1);
      const limited = loadDataset(opts(p, { maxLength: 64, limit: 2 }), tok);
      expect(limited.examples).toEqual(chunks.slice(0, 2));
    }
  });

  it('JSONL records with a "text" field are separate documents; empty ones are dropped; errors name the line', () => {
    const p = file('t.jsonl', jsonl([{ text: 'First document.' }, { text: '' }, { text: 'Second one, a bit longer.' }]));
    const docs = loadExamples(opts(p, { maxLength: 64 }), gpt2);
    expect(docs.map((d) => gpt2.decode(d.ids))).toEqual([`First document.${EOT}`, `Second one, a bit longer.${EOT}`]);
    const packed = loadExamples(opts(p, { maxLength: 64, packing: true }), gpt2);
    expect(packed).toHaveLength(1);
    expect(gpt2.decode(packed[0]!.ids.filter((_, i) => i < docs[0]!.ids.length + docs[1]!.ids.length))).toBe(`First document.${EOT}Second one, a bit longer.${EOT}`);
    expect(() => loadExamples(opts(file('t.jsonl', '{"text": "a"}\n{"txt": "b"}\n'), { format: 'text' }), gpt2)).toThrow(/t\.jsonl:2: missing 'text'/);
    expect(() => loadExamples(opts(file('t.txt', '  \n')), gpt2)).toThrow(/t\.txt: the dataset is empty/);
  });

  it('long texts are encoded piece by piece with the same ids as encoding them whole', () => {
    const text = readFileSync(join(sharedData, 'text/tinyshakespeare.txt'), 'utf8').slice(0, 3 * PIECE_CHARS + 777);
    for (const tok of [gpt2, mistral]) expect(encodeLong(tok, text)).toEqual(tok.encode(text, { addSpecialTokens: false }));
    const chunks = textExamples(gpt2, text, 100, 3);
    expect(chunks).toHaveLength(3);
    expect(chunks[0]!.ids).toEqual(gpt2.encode(text).slice(0, 100));
  }, 60_000);
});

describeData('GSM8K and PubMedQA', () => {
  const GSM = [
    { question: 'Tom has 3 apples and buys 2 more. How many?', answer: 'He has 3 + 2 = <<3+2=5>>5 apples.\n#### 5' },
    { question: 'What is 1,000 + 234?', answer: 'It is 1,234.\n#### 1,234' },
  ];
  const PQA = {
    111: { QUESTION: 'Does X help?', CONTEXTS: ['We studied X.', 'X helped.'], LABELS: ['A', 'B'], final_decision: 'yes', LONG_ANSWER: 'X helps.' },
    222: { QUESTION: 'Is Y bad?', CONTEXTS: ['Y was studied.'], final_decision: 'maybe', LONG_ANSWER: 'Unclear.' },
  };

  it('GSM8K: prompt "Question: {q}\\nAnswer:", target " {answer}" + EOS, final answers parsed', () => {
    expect(gsm8kPrompt('Q?')).toBe('Question: Q?\nAnswer:');
    const p = file('g.jsonl', jsonl(GSM));
    expect(detectFormat(p)).toBe('gsm8k');
    const out = loadExamples(opts(p), gpt2);
    out.forEach((e, i) => {
      expect(gpt2.decode(learned(e))).toBe(` ${GSM[i]!.answer}${EOT}`);
      expect(gpt2.decode(e.ids)).toBe(`${gsm8kPrompt(GSM[i]!.question)} ${GSM[i]!.answer}${EOT}`);
    });
    expect(readGsm8k(p).map((r) => r.final)).toEqual(['5', '1234']);
    expect(gsm8kFinalAnswer('x\n#### -3.50')).toBe('-3.5');
    expect(extractGsm8kAnswer('so 4 + 4 = 8.\n#### 8\nQuestion: next')).toBe('8');
    expect(extractGsm8kAnswer('The answer is $1,200.00.')).toBe('1200');
    expect(extractGsm8kAnswer('no idea')).toBeNull();
    expect(() => readGsm8k(file('g.jsonl', jsonl([GSM[0], { question: 'q', answer: 'no final line' }])))).toThrow(/g\.jsonl:2: 'answer' must end in '#### <number>'/);
    expect(() => readGsm8k(file('g.jsonl', jsonl([{ answer: '#### 1' }])))).toThrow(/g\.jsonl:1: missing 'question'/);
  });

  it('PubMedQA: "Abstract: ...\\nQuestion: ...\\nAnswer:" and the decision as target; bad entries are named', () => {
    expect(pubmedqaPrompt({ question: 'Does X help?', contexts: ['We studied X.', 'X helped.'] })).toBe('Abstract: We studied X.\nX helped.\nQuestion: Does X help?\nAnswer:');
    const p = file('ori_pqal.json', JSON.stringify(PQA, null, 4));
    const entries = readPubmedqa(p);
    expect(entries.map((e) => [e.id, e.decision, e.longAnswer])).toEqual([['111', 'yes', 'X helps.'], ['222', 'maybe', 'Unclear.']]);
    const out = loadExamples(opts(p), gpt2);
    expect(out.map((e) => gpt2.decode(learned(e)))).toEqual([` yes${EOT}`, ` maybe${EOT}`]);
    expect(gpt2.decode(out[1]!.ids)).toBe(`Abstract: Y was studied.\nQuestion: Is Y bad?\nAnswer: maybe${EOT}`);
    const bad = (v: unknown) => () => readPubmedqa(file('q.json', JSON.stringify({ 5: PQA[111], 7: v })));
    expect(bad({ ...PQA[111], final_decision: 'perhaps' })).toThrow(/q\.json: entry "7": 'final_decision' must be "yes", "no" or "maybe", got string "perhaps"/);
    expect(bad({ ...PQA[111], CONTEXTS: 'one' })).toThrow(/entry "7": 'CONTEXTS' must be a list of strings/);
    expect(bad({ CONTEXTS: [], final_decision: 'no' })).toThrow(/entry "7": 'QUESTION' must be a string/);
    // A context longer than maxLength: the prompt is cut from the left, so the question and the decision stay.
    const longCtx = { 9: { QUESTION: 'Is Z safe?', CONTEXTS: ['word '.repeat(300)], final_decision: 'no' } };
    const [e] = loadExamples(opts(file('z.json', JSON.stringify(longCtx)), { maxLength: 32 }), gpt2, undefined, () => {});
    expect(e!.ids).toHaveLength(32);
    expect(gpt2.decode(e!.ids)).toMatch(/ word word \nQuestion: Is Z safe\?\nAnswer: no<\|endoftext\|>$/);
  });
});

describeData('the real shared files', () => {
  const instruct = (p: string) => join(sharedData, 'instruct', p);

  it('alpaca_en_demo.json: 999 rows', () => {
    const path = instruct('alpaca_en_demo.json');
    expect(detectFormat(path)).toBe('alpaca');
    const rows = readAlpaca(path);
    expect(rows).toHaveLength(999);
    expect(rows.filter((r) => r.input !== '').length).toBeGreaterThan(0);
    const { examples, stats } = loadDataset(opts(path, { limit: 25, maxLength: 256 }), gpt2);
    expect(stats).toMatchObject({ format: 'alpaca', records: 999, skipped: 0, examples: 25 });
    examples.forEach((e, i) => expect(rows[i]!.output + EOT).toContain(gpt2.decode(learned(e))));
  });

  it('gsm8k: 1319 test and 7473 train rows, every answer with a final number', () => {
    const test = readGsm8k(instruct('gsm8k/test.jsonl'));
    expect(test).toHaveLength(1319);
    expect(readGsm8k(instruct('gsm8k/train.jsonl'))).toHaveLength(7473);
    expect(test[0]!.final).toBe('18');
    expect(detectFormat(instruct('gsm8k/test.jsonl'))).toBe('gsm8k');
    const { examples, stats } = loadDataset(opts(instruct('gsm8k/test.jsonl'), { limit: 20 }), mistral);
    expect(stats).toMatchObject({ format: 'gsm8k', records: 1319, examples: 20, truncated: 0 });
    expect(mistral.decode(learned(examples[0]!))).toBe(`${test[0]!.answer}</s>`);
  });

  it('pubmedqa: 1000 labelled entries, 500 test ids', () => {
    const path = instruct('pubmedqa/ori_pqal.json');
    expect(detectFormat(path)).toBe('pubmedqa');
    const entries = readPubmedqa(path);
    expect(entries).toHaveLength(1000);
    const truth = readPubmedqaGroundTruth(instruct('pubmedqa/test_ground_truth.json'));
    expect(truth.size).toBe(500);
    const { train, test } = splitPubmedqa(entries, truth);
    expect([train.length, test.length]).toEqual([500, 500]);
    expect(test.every((e) => truth.get(e.id) === e.decision)).toBe(true);
    const { examples, stats } = loadDataset(opts(path, { limit: 20, maxLength: 128 }), gpt2);
    expect(stats).toMatchObject({ format: 'pubmedqa', records: 1000, examples: 20, skipped: 0 });
    examples.forEach((e, i) => expect(gpt2.decode(learned(e))).toBe(` ${entries[i]!.decision}${EOT}`));
  });

  it('c4_demo.jsonl text records', () => {
    const path = join(sharedData, 'text/c4_demo.jsonl');
    expect(detectFormat(path)).toBe('text');
    const { examples, stats } = loadDataset(opts(path, { limit: 10, maxLength: 128 }), gpt2);
    expect(stats.records).toBeGreaterThan(100);
    expect(examples).toHaveLength(10);
  });
});
