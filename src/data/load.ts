// Dataset loading: detects the format, reads and tokenizes the examples, truncates them to maxLength (skipping and
// counting those left with nothing to learn), and optionally packs them into rows of exactly maxLength.
import type { Tokenizer } from './tokenizer.js';
import type { Example } from './example.js';
import { readPretokenized, DataError } from './pretokenized.js';
import { parseJsonFile, readDataText, truncateExample } from './prompt.js';
import { alpacaExample, readAlpaca } from './alpaca.js';
import { chatExample, readChat } from './chat.js';
import { isPlainTextFile, readTextDocuments, textExamples } from './text.js';
import { gsm8kExample, pubmedqaExample, readGsm8k, readPubmedqa } from './tasks.js';
import { packExamples } from './packing.js';

export type DataFormat = 'auto' | 'alpaca' | 'chat' | 'text' | 'pretokenized' | 'gsm8k' | 'pubmedqa';

export interface DataOptions {
  path: string;
  format: DataFormat;
  maxLength: number;
  /** Mask prompts (alpaca, gsm8k, pubmedqa) and non-assistant turns (chat) from the loss. Ignored by text and pretokenized. */
  maskPrompt: boolean;
  packing: boolean;
  /** Use only the first `limit` records (text: the first `limit` chunks). */
  limit?: number;
}

export interface DataStats {
  format: Exclude<DataFormat, 'auto'>;
  /** Records read (text: documents) before `limit`. */
  records: number;
  /** Examples cut to maxLength. */
  truncated: number;
  /** Examples dropped because no token was left to learn (after truncation, or none to begin with). */
  skipped: number;
  /** Examples before packing. */
  examples: number;
  /** Rows returned (examples, or packed rows). */
  rows: number;
}

const FORMATS = 'alpaca, chat, text, pretokenized, gsm8k, pubmedqa';

/**
 * Guesses the format: .txt/.md is text; otherwise the keys of the first record decide (JSONL, a JSON array, or a
 * JSON object of entries): input_ids -> pretokenized, messages -> chat, instruction -> alpaca, question + answer
 * with "####" -> gsm8k, text -> text, entries with QUESTION and final_decision -> pubmedqa.
 */
export function detectFormat(path: string): Exclude<DataFormat, 'auto'> {
  if (isPlainTextFile(path)) return 'text';
  const text = readDataText(path);
  const first = firstRecord(path, text);
  if (first === undefined) throw new DataError(`${path}: the dataset is empty`);
  const keys = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const r = keys(first);
  if ('input_ids' in r) return 'pretokenized';
  if ('messages' in r) return 'chat';
  if ('instruction' in r) return 'alpaca';
  if (typeof r['question'] === 'string' && typeof r['answer'] === 'string' && r['answer'].includes('####')) return 'gsm8k';
  if (typeof r['text'] === 'string') return 'text';
  const entry = keys(Object.values(r)[0]);
  if ('QUESTION' in entry && 'final_decision' in entry) return 'pubmedqa';
  const seen = Object.keys(r).slice(0, 8).join(', ');
  throw new DataError(`${path}: cannot tell the data format from the first record (keys: ${seen || 'none'}); set data.format (${FORMATS})`);
}

/** The first JSONL line's value, the first element of a JSON array, or the whole of a multi-line JSON object. */
function firstRecord(path: string, text: string): unknown {
  const body = text.trimStart();
  if (body === '') return undefined;
  if (body.startsWith('[')) {
    const arr = parseJsonFile(path, text);
    return Array.isArray(arr) ? arr[0] : arr;
  }
  const line = body.slice(0, body.indexOf('\n') >= 0 ? body.indexOf('\n') : body.length);
  try {
    return JSON.parse(line);
  } catch {
    return parseJsonFile(path, text);
  }
}

/** Reads a dataset and reports what happened to its records. */
export function loadDataset(opts: DataOptions, tokenizer: Tokenizer | null, vocabSize?: number): { examples: Example[]; stats: DataStats } {
  const format = opts.format === 'auto' ? detectFormat(opts.path) : opts.format;
  if (!Number.isInteger(opts.maxLength) || opts.maxLength < 2) throw new DataError(`${opts.path}: data.maxLength = ${opts.maxLength}; expected at least 2 (a position predicts the next token)`);
  const limit = opts.limit ?? Infinity;
  let records = 0;
  let examples: Example[];
  if (format === 'pretokenized') {
    examples = readPretokenized(opts.path, vocabSize);
    records = examples.length;
    examples = examples.slice(0, limit);
  } else {
    if (!tokenizer) throw new DataError(`${opts.path}: format '${format}' needs a tokenizer, and the model folder has no tokenizer.json`);
    const tok = tokenizer;
    const take = <T>(all: T[]): T[] => {
      records = all.length;
      return all.slice(0, limit);
    };
    const mask = opts.maskPrompt;
    switch (format) {
      case 'alpaca': examples = take(readAlpaca(opts.path)).map((r) => alpacaExample(tok, r, mask)); break;
      case 'chat': examples = take(readChat(opts.path)).map((r) => chatExample(tok, r.messages, mask, r.where)); break;
      case 'gsm8k': examples = take(readGsm8k(opts.path)).map((r) => gsm8kExample(tok, r, mask)); break;
      case 'pubmedqa': examples = take(readPubmedqa(opts.path)).map((e) => pubmedqaExample(tok, e, mask)); break;
      case 'text': {
        const docs = readTextDocuments(opts.path);
        records = docs.length;
        examples = [];
        for (const d of docs) {
          if (examples.length >= limit) break;
          examples.push(...textExamples(tok, d.text, opts.maxLength, limit - examples.length));
        }
        break;
      }
      default: throw new DataError(`${opts.path}: unknown data format '${String(format)}'; expected one of ${FORMATS}`);
    }
    checkVocabulary(opts.path, examples, tok, vocabSize);
  }
  if (records === 0) throw new DataError(`${opts.path}: the dataset is empty`);
  let truncated = 0;
  const kept: Example[] = [];
  for (const e of examples) {
    const r = truncateExample(e, opts.maxLength);
    if (r.truncated) truncated++;
    if (r.example) kept.push(r.example);
  }
  const skipped = examples.length - kept.length;
  if (kept.length === 0) {
    throw new DataError(`${opts.path}: the dataset is empty: none of its ${examples.length} examples has a token to learn within data.maxLength = ${opts.maxLength}`);
  }
  const padId = tokenizer?.padId ?? tokenizer?.eosId ?? 0;
  const rows = opts.packing ? packExamples(kept, opts.maxLength, padId) : kept;
  return { examples: rows, stats: { format, records, truncated, skipped, examples: kept.length, rows: rows.length } };
}

/** Reads a dataset; truncated and skipped examples are reported through `warn` (default: stderr). */
export function loadExamples(opts: DataOptions, tokenizer: Tokenizer | null, vocabSize?: number,
  warn: (message: string) => void = (m) => process.stderr.write(`warning: ${m}\n`)): Example[] {
  const { examples, stats } = loadDataset(opts, tokenizer, vocabSize);
  if (stats.truncated > 0) warn(`${opts.path}: ${stats.truncated} of ${stats.examples + stats.skipped} examples were longer than data.maxLength = ${opts.maxLength} and were truncated`);
  if (stats.skipped > 0) warn(`${opts.path}: skipped ${stats.skipped} examples with no token to learn within data.maxLength = ${opts.maxLength} (the prompt fills it, or nothing is unmasked)`);
  return examples;
}

function checkVocabulary(path: string, examples: readonly Example[], tok: Tokenizer, vocabSize?: number): void {
  if (vocabSize === undefined || tok.vocabSize <= vocabSize) return;
  for (const [i, e] of examples.entries()) {
    for (const id of e.ids) {
      if (id >= vocabSize) throw new DataError(`${path}: example ${i + 1}: token id ${id} from the tokenizer (${tok.source}) is outside the model's vocabulary of ${vocabSize}; the tokenizer does not match the model`);
    }
  }
}
