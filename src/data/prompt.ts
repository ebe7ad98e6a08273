// Shared by the dataset readers: JSON/JSONL records with their locations, field checks, prompt/response -> Example
// with loss masking, and truncation to maxLength.
import { readFileSync } from 'node:fs';
import type { Tokenizer } from './tokenizer.js';
import { IGNORE_INDEX, type Example } from './example.js';
import { DataError } from './data-error.js';
import { isParquetFile, readParquet } from './parquet.js';

/** One record of a data file and where it is, for errors: "file:line" (JSONL), "file[index]" (JSON array) or
 *  "file row n" (Parquet, 1-based). */
export interface SourceRecord {
  value: unknown;
  where: string;
}

/** The whole data file as text (a leading BOM dropped); DataError when it cannot be read. */
export function readDataText(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DataError(`${path}: cannot read the data file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Parses a whole file as one JSON value; the error names the line when the parser gives a position. */
export function parseJsonFile(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : null;
    throw new DataError(`${path}${line !== null ? `:${line}` : ''}: not valid JSON (${msg})`);
  }
}

/** data.columns: the readers' field names -> the file's column names (e.g. {instruction: 'question'}). */
export type ColumnMap = Readonly<Record<string, string>>;

/** The field names data.columns may map: those the record readers read. */
export const RECORD_FIELDS = ['instruction', 'input', 'output', 'history', 'messages', 'conversations', 'system', 'prompt', 'completion', 'text', 'question', 'answer'] as const;

/**
 * The records of a Parquet file (one per row), a JSON array file (text starts with '[') or a JSONL file (one JSON
 * value per non-empty line). JSONL records are located by 1-based line, array records by 0-based index. With
 * `columns`, each record object also gets the field `ours` holding its column `theirs`.
 */
export function readRecords(path: string, columns?: ColumnMap): SourceRecord[] {
  const records = isParquetFile(path)
    ? readParquet(path).rows.map((value, i) => ({ value: value as unknown, where: `${path} row ${i + 1}` }))
    : readJsonRecords(path, readDataText(path));
  return columns === undefined || Object.keys(columns).length === 0 ? records : records.map((r) => ({ ...r, value: renameColumns(r.value, columns) }));
}

/** A record object with each mapped column also under the readers' name (non-objects are returned as they are). */
export function renameColumns(value: unknown, columns: ColumnMap): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [ours, theirs] of Object.entries(columns)) if (Object.hasOwn(out, theirs)) out[ours] = out[theirs];
  return out;
}

function readJsonRecords(path: string, text: string): SourceRecord[] {
  if (text.trimStart().startsWith('[')) {
    const arr = parseJsonFile(path, text);
    if (!Array.isArray(arr)) throw new DataError(`${path}: expected a JSON array of records`);
    return arr.map((value, i) => ({ value, where: `${path}[${i}]` }));
  }
  const out: SourceRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push({ value: JSON.parse(line), where: `${path}:${i + 1}` });
    } catch {
      throw new DataError(`${path}:${i + 1}: not valid JSON (JSONL expects one JSON object per line)`);
    }
  });
  return out;
}

/** The record as an object, or a DataError naming where it is. */
export function recordObject(rec: SourceRecord): Record<string, unknown> {
  const v = rec.value;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DataError(`${rec.where}: expected a JSON object, got ${describeValue(v)}`);
  return v as Record<string, unknown>;
}

/** A string field; `optional` fields may be missing or null (then ''). */
export function stringField(rec: SourceRecord, key: string, opts: { optional?: boolean } = {}): string {
  const v = recordObject(rec)[key];
  if ((v === undefined || v === null) && opts.optional) return '';
  if (v === undefined) throw new DataError(`${rec.where}: missing '${key}' (expected a string)`);
  if (typeof v !== 'string') throw new DataError(`${rec.where}: '${key}' must be a string, got ${describeValue(v)}`);
  return v;
}

/** A short description of a JSON value for error messages: "null", "an array", "number 3", ... */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}

/** Text to ids without the tokenizer's automatic special tokens (those are added once, by the caller). */
export function encodeText(tok: Tokenizer, text: string): number[] {
  return text.length === 0 ? [] : tok.encode(text, { addSpecialTokens: false });
}

const prefixCache = new WeakMap<Tokenizer, number[]>();

/**
 * The ids that the tokenizer's post-processor puts before a text (Llama/Mistral with add_bos_token: [BOS];
 * GPT-2: none), found by encoding a probe with and without special tokens. Anything it appends (add_eos_token)
 * is left out: the readers append EOS themselves where a sequence ends.
 */
export function specialPrefix(tok: Tokenizer): number[] {
  let prefix = prefixCache.get(tok);
  if (prefix === undefined) {
    const withSpecial = tok.encode('a', { addSpecialTokens: true });
    const plain = tok.encode('a', { addSpecialTokens: false });
    prefix = [];
    for (let i = 0; i + plain.length <= withSpecial.length; i++) {
      if (plain.every((id, j) => withSpecial[i + j] === id)) {
        prefix = withSpecial.slice(0, i);
        break;
      }
    }
    prefixCache.set(tok, prefix);
  }
  return prefix;
}

/** Length of the longest common prefix of two id lists. */
export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** An example made of [special prefix] + prompt + response: where the prompt and the response start, for truncation. */
export interface PromptResponseExample extends Example {
  promptStart: number;
  responseStart: number;
}

/**
 * A prompt/response pair as one example: [special prefix] + prompt + response + [EOS].
 * The prompt is tokenized alone, exactly as it is at inference (`tokenizer.encode(prompt)`). The response is
 * tokenized in context (the tokens of prompt + response after the prompt's), so the model learns the tokens it
 * would generate; when the prompt's tokens are not a prefix of the joint tokens (a merge across the boundary) the
 * response is tokenized alone. With maskPrompt, the prefix and prompt get label IGNORE_INDEX and the response and
 * EOS are learned; without it every position is learned. EOS is appended when the tokenizer has one.
 */
export function promptExample(tok: Tokenizer, prompt: string, response: string, maskPrompt: boolean): PromptResponseExample {
  const prefix = specialPrefix(tok);
  const promptIds = encodeText(tok, prompt);
  const joint = encodeText(tok, prompt + response);
  const responseIds = commonPrefixLength(promptIds, joint) === promptIds.length ? joint.slice(promptIds.length) : encodeText(tok, response);
  const eos = tok.eosId === null ? [] : [tok.eosId];
  const ids = [...prefix, ...promptIds, ...responseIds, ...eos];
  const responseStart = prefix.length + promptIds.length;
  const labels = maskPrompt ? [...new Array<number>(responseStart).fill(IGNORE_INDEX), ...responseIds, ...eos] : [...ids];
  return { ids, labels, promptStart: prefix.length, responseStart };
}

/** The number of positions that are loss targets (labels[0] never is: position t predicts labels[t + 1]). */
export function targetCount(e: Example): number {
  let n = 0;
  for (let t = 1; t < e.labels.length; t++) if (e.labels[t] !== IGNORE_INDEX) n++;
  return n;
}

/**
 * Truncation policy for an example longer than maxLength:
 * 1. keep its first maxLength tokens (the prompt stays whole, the end of the response is cut);
 * 2. if that leaves nothing to learn because the prompt fills maxLength, and the example is a prompt/response pair,
 *    cut the prompt from the left instead, after the special prefix: keep the response's first
 *    min(response length, maxLength / 2) tokens and the end of the prompt (where the question and the
 *    response cue are) in the rest;
 * 3. otherwise return null: the caller skips the example and counts it. Examples with nothing to learn at all (e.g.
 *    no assistant turn) are null too. The result is always a plain {ids, labels}.
 */
export function truncateExample(e: Example, maxLength: number): { example: Example | null; truncated: boolean } {
  const keep = (x: Example) => (targetCount(x) > 0 ? x : null);
  if (e.ids.length <= maxLength) return { example: keep({ ids: e.ids, labels: e.labels }), truncated: false };
  const head = { ids: e.ids.slice(0, maxLength), labels: e.labels.slice(0, maxLength) };
  if (targetCount(head) > 0 || !isPromptResponse(e)) return { example: keep(head), truncated: true };
  const { promptStart: p, responseStart: r } = e;
  const response = Math.min(e.ids.length - r, Math.max(1, Math.floor(maxLength / 2)));
  const room = maxLength - p - response;
  if (room < 0) return { example: null, truncated: true };
  const pick = (xs: number[]) => [...xs.slice(0, p), ...xs.slice(r - Math.min(room, r - p), r), ...xs.slice(r, r + response)];
  return { example: keep({ ids: pick(e.ids), labels: pick(e.labels) }), truncated: true };
}

function isPromptResponse(e: Example): e is PromptResponseExample {
  const x = e as Partial<PromptResponseExample>;
  return Number.isInteger(x.promptStart) && Number.isInteger(x.responseStart);
}
