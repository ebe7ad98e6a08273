// Alpaca instruction data (JSON array, JSONL or Parquet of {instruction, input, output, history?}) and the Alpaca
// prompt template.
import type { Tokenizer } from './tokenizer.js';
import type { Example } from './example.js';
import type { ChatMessage } from './chat-template.js';
import { chatExample } from './chat.js';
import { DataError } from './data-error.js';
import { describeValue, promptExample, readRecords, recordObject, type SourceRecord, stringField, type ColumnMap } from './prompt.js';

/**
 * The Stanford Alpaca prompt (tatsu-lab/stanford_alpaca), with a newline after "### Response:" as alpaca-lora and
 * LLaMA-Factory write it (the original train.py has none). The response is the output followed by EOS.
 *
 *   Below is an instruction that describes a task, paired with an input that provides further context. Write a
 *   response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n
 *   ### Response:\n
 *
 * and, when the input is empty:
 *
 *   Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n
 *   ### Instruction:\n{instruction}\n\n### Response:\n
 */
export const ALPACA_PROMPT_WITH_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n';
export const ALPACA_PROMPT_NO_INPUT =
  'Below is an instruction that describes a task. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Response:\n';

export interface AlpacaRecord {
  instruction: string;
  /** '' when the record has none. */
  input: string;
  output: string;
  /** Earlier [instruction, response] turns (LLaMA-Factory's `history`); [] when the record has none. */
  history: [string, string][];
  /** "file:line" or "file[index]", for messages. */
  where: string;
}

/** The Alpaca prompt for an instruction and an optional input (an input of only whitespace counts as none). */
export function alpacaPrompt(instruction: string, input = ''): string {
  const fill = (t: string) => t.replace('{instruction}', () => instruction).replace('{input}', () => input);
  return input.trim() === '' ? fill(ALPACA_PROMPT_NO_INPUT) : fill(ALPACA_PROMPT_WITH_INPUT);
}

/** `history`: missing or null (none), or a list of [instruction, response] string pairs. */
function historyField(rec: SourceRecord): [string, string][] {
  const v = recordObject(rec)['history'];
  if (v === undefined || v === null) return [];
  const pair = (p: unknown): p is [string, string] => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string';
  if (!Array.isArray(v)) throw new DataError(`${rec.where}: 'history' must be a list of [instruction, response] pairs, got ${describeValue(v)}`);
  v.forEach((p: unknown, i) => {
    if (!pair(p)) throw new DataError(`${rec.where}: 'history[${i}]' must be an [instruction, response] pair of strings, got ${describeValue(p)}`);
  });
  return v as [string, string][];
}

/** Reads and checks every record: instruction and output strings, input a string, null or missing, history optional. */
export function readAlpaca(path: string, columns?: ColumnMap): AlpacaRecord[] {
  return readRecords(path, columns).map((rec) => ({
    instruction: stringField(rec, 'instruction'),
    input: stringField(rec, 'input', { optional: true }),
    output: stringField(rec, 'output'),
    history: historyField(rec),
    where: rec.where,
  }));
}

/**
 * A record with history as a conversation, as LLaMA-Factory reads it: each [instruction, response] pair is a
 * user and an assistant turn, then the user turn instruction + "\n" + input (just the instruction when the input
 * is empty) and the assistant turn output.
 */
export function alpacaMessages(r: Pick<AlpacaRecord, 'instruction' | 'input' | 'output' | 'history'>): ChatMessage[] {
  const turns = r.history.flatMap(([q, a]): ChatMessage[] => [{ role: 'user', content: q }, { role: 'assistant', content: a }]);
  const query = r.input.trim() === '' ? r.instruction : `${r.instruction}\n${r.input}`;
  return [...turns, { role: 'user', content: query }, { role: 'assistant', content: r.output }];
}

/**
 * One record as an example. Without history: the Alpaca prompt (masked with maskPrompt), then output + EOS
 * (learned). With history: the conversation of alpacaMessages through the chat path (the model's chat template),
 * where every assistant turn is learned, the earlier responses included.
 */
export function alpacaExample(tok: Tokenizer, r: Pick<AlpacaRecord, 'instruction' | 'input' | 'output'> & Partial<Pick<AlpacaRecord, 'history' | 'where'>>,
  maskPrompt: boolean): Example {
  if (r.history !== undefined && r.history.length > 0) return chatExample(tok, alpacaMessages({ ...r, history: r.history }), maskPrompt, r.where);
  return promptExample(tok, alpacaPrompt(r.instruction, r.input), r.output, maskPrompt);
}
