// The data formats beyond Alpaca/chat JSON: Parquet tables (Alpaca, chat and text columns), ShareGPT
// conversations, Alpaca history and prompt/completion JSONL, each detected from the file and masked exactly.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parquetWriteFile } from 'hyparquet-writer';
import { loadTokenizer, type Tokenizer } from '../../src/data/tokenizer.js';
import { IGNORE_INDEX, type Example } from '../../src/data/example.js';
import { detectFormat, loadExamples, type DataOptions } from '../../src/data/load.js';
import { alpacaPrompt } from '../../src/data/alpaca.js';
import { validateConfig } from '../../src/train/config.js';
import { CONV } from './conversation.js';
import { haveSharedData, sharedData } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function path(name: string): string {
  const d = mkdtempSync(join(tmpdir(), 'lisa-formats-'));
  dirs.push(d);
  return join(d, name);
}
function file(name: string, content: string): string {
  const p = path(name);
  writeFileSync(p, content);
  return p;
}
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const opts = (p: string, more: Partial<DataOptions> = {}): DataOptions => ({ path: p, format: 'auto', maxLength: 512, maskPrompt: true, packing: false, ...more });
const quiet = () => {};
const learned = (e: Example) => e.ids.filter((_, i) => e.labels[i] !== IGNORE_INDEX);
/** Positions [0, n) are masked and [n, end) are learned with their own ids. */
function expectMaskedUpTo(e: Example, n: number): void {
  expect(e.labels.slice(0, n)).toEqual(new Array<number>(n).fill(IGNORE_INDEX));
  expect(e.labels.slice(n)).toEqual(e.ids.slice(n));
}

const ALPACA = [
  { instruction: 'Translate to French.', input: 'Good morning, friend.', output: 'Bonjour, mon ami.' },
  { instruction: 'Say hi.', input: '', output: 'Hi!' },
];
const EOT = '<|endoftext|>';

/** A Parquet file as Hugging Face datasets writes it: string columns, and a messages column LIST<STRUCT<role, content>>. */
function writeParquet(name: string, columns: { name: string; data: unknown[] }[], messages = false): string {
  const p = path(name);
  const schema = messages ? [
    { name: 'root', num_children: columns.length },
    ...columns.flatMap((c) => (c.name === 'messages' ? [
      { name: 'messages', repetition_type: 'OPTIONAL' as const, converted_type: 'LIST' as const, num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED' as const, num_children: 1 },
      { name: 'element', repetition_type: 'OPTIONAL' as const, num_children: 2 },
      { name: 'role', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const },
      { name: 'content', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const },
    ] : [{ name: c.name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const }])),
  ] : undefined;
  parquetWriteFile({ filename: p, columnData: columns.map((c) => ({ ...c, ...(messages ? {} : { type: 'STRING' as const }) })) as never, ...(schema ? { schema } : {}) });
  return p;
}

const HAVE = haveSharedData();

describe.runIf(HAVE)('data formats', () => {
  const gpt2: Tokenizer = HAVE ? loadTokenizer(join(sharedData, 'tokenizers/gpt2')) : (null as never);
  const mistral: Tokenizer = HAVE ? loadTokenizer(join(sharedData, 'tokenizers/mistral')) : (null as never);

  describe('Parquet', () => {
    it('Alpaca columns: the same examples as the JSONL file, prompt masked exactly', () => {
      const p = writeParquet('train.parquet', ['instruction', 'input', 'output'].map((k) => ({ name: k, data: ALPACA.map((r) => r[k as keyof typeof r]) })));
      expect(detectFormat(p)).toBe('alpaca');
      const out = loadExamples(opts(p), gpt2, undefined, quiet);
      expect(out).toEqual(loadExamples(opts(file('a.jsonl', jsonl(ALPACA))), gpt2, undefined, quiet));
      out.forEach((e, i) => {
        const r = ALPACA[i]!;
        expectMaskedUpTo(e, gpt2.encode(alpacaPrompt(r.instruction, r.input)).length);
        expect(gpt2.decode(learned(e))).toBe(r.output + EOT);
      });
    });

    it('chat column (list of {role, content} structs): the same examples as the chat JSONL, assistant turns learned', () => {
      const second = [{ role: 'user', content: 'Name a colour.' }, { role: 'assistant', content: 'Blue.' }];
      const p = writeParquet('chat.parquet', [{ name: 'messages', data: [CONV, second] }], true);
      expect(detectFormat(p)).toBe('chat');
      const out = loadExamples(opts(p), mistral, undefined, quiet);
      expect(out).toEqual(loadExamples(opts(file('c.jsonl', jsonl([{ messages: CONV }, { messages: second }]))), mistral, undefined, quiet));
      expect(mistral.decode(learned(out[0]!))).toBe('Hello! How can I help?<|im_end|>\n4<|im_end|>\n</s>');
      expect(mistral.decode(learned(out[1]!))).toBe('Blue.<|im_end|>\n</s>');
      const firstLearned = out[1]!.labels.findIndex((l) => l !== IGNORE_INDEX);
      expectMaskedUpTo({ ids: out[1]!.ids.slice(0, firstLearned + 4), labels: out[1]!.labels.slice(0, firstLearned + 4) }, firstLearned);
      expect(out[1]!.ids.slice(0, firstLearned)).toEqual(mistral.encode(mistral.applyChatTemplate(second.slice(0, 1), { addGenerationPrompt: true })));
    });

    it('text column: the same chunks as the text JSONL', () => {
      const docs = ['The quick brown fox jumps over the lazy dog. '.repeat(6), 'A second, shorter document.'];
      const p = writeParquet('text.parquet', [{ name: 'text', data: docs }]);
      expect(detectFormat(p)).toBe('text');
      const out = loadExamples(opts(p, { maxLength: 16 }), gpt2, undefined, quiet);
      expect(out).toEqual(loadExamples(opts(file('t.jsonl', jsonl(docs.map((text) => ({ text })))), { maxLength: 16 }), gpt2, undefined, quiet));
      expect(gpt2.decode(out.flatMap((e) => e.ids))).toContain('The quick brown fox');
      expect(out.every((e) => e.labels.every((l, i) => l === e.ids[i]))).toBe(true);
    });

    it('input_ids and labels columns (lists of INT32 and INT64, as tokenized HF datasets): the rows as they are', () => {
      const list = (name: string, type: 'INT32' | 'INT64') => [
        { name, repetition_type: 'OPTIONAL' as const, converted_type: 'LIST' as const, num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED' as const, num_children: 1 },
        { name: 'element', type, repetition_type: 'OPTIONAL' as const },
      ];
      const ids = [[1, 5, 6, 2], [1, 7, 9]];
      const labels = [[-100, -100, 6, 2], [-100, 7, 9]];
      const p = path('tokens.parquet');
      parquetWriteFile({
        filename: p, schema: [{ name: 'root', num_children: 2 }, ...list('input_ids', 'INT32'), ...list('labels', 'INT64')],
        columnData: [{ name: 'input_ids', data: ids }, { name: 'labels', data: labels.map((l) => l.map(BigInt)) }] as never,
      });
      expect(detectFormat(p)).toBe('pretokenized');
      expect(loadExamples(opts(p), null, 16, quiet)).toEqual([{ ids: ids[0], labels: labels[0] }, { ids: ids[1], labels: labels[1] }]);
      expect(() => loadExamples(opts(p), null, 8, quiet)).toThrow(/tokens\.parquet row 2: 'input_ids' must be a non-empty array of token ids in \[0, 8\)/);
    });

    it('a file without the expected columns names the columns it has', () => {
      const p = writeParquet('odd.parquet', [{ name: 'question_text', data: ['q'] }, { name: 'reply', data: ['r'] }]);
      expect(() => loadExamples(opts(p), gpt2)).toThrow(/odd\.parquet: cannot tell the data format from the Parquet columns \(found: question_text, reply\)/);
      expect(() => loadExamples(opts(p, { format: 'alpaca' }), gpt2)).toThrow(/odd\.parquet: format 'alpaca' needs the columns 'instruction', 'output'; the file has columns: question_text, reply/);
      expect(() => loadExamples(opts(file('bad.parquet', 'not parquet')), gpt2)).toThrow(/bad\.parquet: cannot read the Parquet file/);
    });

    it('data.columns maps other column names (Parquet and JSONL) onto the readers\' fields', () => {
      const columns = { instruction: 'question_text', output: 'reply' };
      const rows = ALPACA.map((r) => ({ question_text: r.instruction, reply: r.output }));
      const p = writeParquet('qa.parquet', [{ name: 'question_text', data: rows.map((r) => r.question_text) }, { name: 'reply', data: rows.map((r) => r.reply) }]);
      expect(detectFormat(p, columns)).toBe('alpaca');
      const want = loadExamples(opts(file('a.jsonl', jsonl(ALPACA.map((r) => ({ instruction: r.instruction, output: r.output }))))), gpt2, undefined, quiet);
      expect(loadExamples(opts(p, { columns }), gpt2, undefined, quiet)).toEqual(want);
      expect(loadExamples(opts(file('q.jsonl', jsonl(rows)), { columns }), gpt2, undefined, quiet)).toEqual(want);
      expect(() => loadExamples(opts(p, { format: 'alpaca', columns: { instruction: 'question_text' } }), gpt2))
        .toThrow(/qa\.parquet: format 'alpaca' needs the column 'output'; the file has columns: question_text, reply \(data\.columns maps/);
      const cfg = { model: 'm', out: 'o', data: { path: 'd.parquet', columns: { instructions: 'q' } } };
      expect(() => validateConfig(cfg, 'c.yaml')).toThrow(/c\.yaml: 'data\.columns\.instructions'/);
      expect(validateConfig({ ...cfg, data: { path: 'd.parquet', columns } }, 'c.yaml').data.columns).toEqual(columns);
    });
  });

  describe('ShareGPT', () => {
    const SHARE = CONV.map((m) => ({ from: { system: 'system', user: 'human', assistant: 'gpt' }[m.role], value: m.content }));

    it('maps human/gpt/system onto the chat path: the same ids and labels as the messages file', () => {
      const p = file('s.jsonl', jsonl([{ conversations: SHARE }]));
      expect(detectFormat(p)).toBe('sharegpt');
      const [e] = loadExamples(opts(p), gpt2, undefined, quiet);
      const [c] = loadExamples(opts(file('c.jsonl', jsonl([{ messages: CONV }]))), gpt2, undefined, quiet);
      expect(e).toEqual(c);
      expect(gpt2.decode(learned(e!))).toBe(`Hello! How can I help?<|im_end|>\n4<|im_end|>\n${EOT}`);
      // A top-level system column and the aliases user/assistant/chatgpt/model give the same conversation.
      const aliased = [{ from: 'user', value: 'Hi there' }, { from: 'ChatGPT', value: 'Hello! How can I help?' }, { from: 'human', value: '2+2?' }, { from: 'model', value: '4' }];
      const [a] = loadExamples(opts(file('s.json', JSON.stringify([{ system: 'Be brief.', conversations: aliased }]))), gpt2, undefined, quiet);
      expect(a).toEqual(c);
    });

    it('an unknown role names the line and the role', () => {
      const p = file('s.jsonl', jsonl([{ conversations: SHARE }, { conversations: [{ from: 'human', value: 'hi' }, { from: 'robot', value: 'beep' }] }]));
      expect(() => loadExamples(opts(p), gpt2)).toThrow(/s\.jsonl:2: 'conversations\[1\]\.from' is 'robot', an unknown role; expected one of human, user, gpt/);
      expect(() => loadExamples(opts(file('s.jsonl', jsonl([{ conversations: [{ from: 'human' }] }]))), gpt2)).toThrow(/s\.jsonl:1: missing 'conversations\[0\]\.value' \(expected a string\)/);
    });
  });

  describe('Alpaca history', () => {
    it('earlier turns become a conversation through the chat template; every response is learned', () => {
      const rec = { instruction: 'And in German?', input: '', output: 'Guten Morgen.', history: [['Translate to French: Good morning.', 'Bonjour.']] };
      const p = file('h.jsonl', jsonl([rec, ALPACA[1]]));
      expect(detectFormat(p)).toBe('alpaca');
      const [e, plain] = loadExamples(opts(p), gpt2, undefined, quiet);
      const conv = [
        { role: 'user', content: 'Translate to French: Good morning.' }, { role: 'assistant', content: 'Bonjour.' },
        { role: 'user', content: 'And in German?' }, { role: 'assistant', content: 'Guten Morgen.' },
      ];
      expect(gpt2.decode(e!.ids)).toBe(gpt2.applyChatTemplate(conv) + EOT);
      expect(gpt2.decode(learned(e!))).toBe(`Bonjour.<|im_end|>\nGuten Morgen.<|im_end|>\n${EOT}`);
      // The record without history keeps the Alpaca prompt.
      expect(gpt2.decode(plain!.ids)).toBe(alpacaPrompt('Say hi.') + 'Hi!' + EOT);
      // With an input, the last user turn is instruction + "\n" + input.
      const [w] = loadExamples(opts(file('h.jsonl', jsonl([{ ...ALPACA[0], history: [['a', 'b']] }]))), gpt2, undefined, quiet);
      expect(gpt2.decode(w!.ids)).toContain('<|im_start|>user\nTranslate to French.\nGood morning, friend.<|im_end|>');
      expect(() => loadExamples(opts(file('h.jsonl', jsonl([{ ...rec, history: [['only one']] }]))), gpt2)).toThrow(/h\.jsonl:1: 'history\[0\]' must be an \[instruction, response\] pair of strings/);
    });
  });

  describe('prompt/completion', () => {
    const ROWS = [
      { prompt: 'The capital of France is', completion: ' Paris.' },
      { prompt: 'Q: 2+2?\nA:', completion: ' 4' },
    ];
    it('learns exactly the completion and EOS (GPT-2: " Paris." is 2 tokens, " 4" is 1)', () => {
      const p = file('pc.jsonl', jsonl(ROWS));
      expect(detectFormat(p)).toBe('prompt-completion');
      const out = loadExamples(opts(p), gpt2, undefined, quiet);
      out.forEach((e, i) => {
        expectMaskedUpTo(e, gpt2.encode(ROWS[i]!.prompt).length);
        expect(gpt2.decode(learned(e))).toBe(ROWS[i]!.completion + EOT);
        expect(gpt2.decode(e.ids)).toBe(ROWS[i]!.prompt + ROWS[i]!.completion + EOT);
      });
      expect(out.map((e) => learned(e).length)).toEqual([3, 2]);
      const unmasked = loadExamples(opts(p, { maskPrompt: false }), gpt2, undefined, quiet);
      expect(unmasked.every((e) => e.labels.every((l, i) => l === e.ids[i]))).toBe(true);
    });

    it('conversational prompt/completion goes through the chat template', () => {
      const p = file('pc.jsonl', jsonl([{ prompt: CONV.slice(0, 2), completion: CONV.slice(2, 3) }]));
      const [e] = loadExamples(opts(p), gpt2, undefined, quiet);
      const [c] = loadExamples(opts(file('c.jsonl', jsonl([{ messages: CONV.slice(0, 3) }]))), gpt2, undefined, quiet);
      expect(e).toEqual(c);
      expect(() => loadExamples(opts(file('pc.jsonl', jsonl([{ prompt: 'x', completion: 3 }])), { format: 'prompt-completion' }), gpt2))
        .toThrow(/pc\.jsonl:1: 'prompt' and 'completion' must both be strings or both be lists/);
    });
  });
});
