// Dataset loading: detects the format, reads and tokenizes the examples, truncates them to maxLength (skipping and
// counting those left with nothing to learn), and optionally packs them into rows of exactly maxLength.
import type { Tokenizer } from './tokenizer.js';
import type { Example } from './example.js';
import { readPretokenized } from './pretokenized.js';
import { DataError } from './data-error.js';
import { parseJsonFile, readDataText, renameColumns, truncateExample, type ColumnMap } from './prompt.js';
import { alpacaExample, readAlpaca } from './alpaca.js';
import { chatExample, readChat } from './chat.js';
import { readShareGpt } from './sharegpt.js';
import { completionExample, readCompletions } from './completion.js';
import { isParquetFile, readParquet } from './parquet.js';
import { isPlainTextFile, readTextDocuments, textExamples } from './text.js';
import { gsm8kExample, pubmedqaExample, readGsm8k, readPubmedqa } from './tasks.js';
import { packExamples } from './packing.js';

export const DATA_FORMATS = ['auto', 'alpaca', 'chat', 'sharegpt', 'prompt-completion', 'text', 'pretokenized', 'gsm8k', 'pubmedqa'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

export interface DataOptions {
  path: string;
  format: DataFormat;
  maxLength: number;
  /** Mask prompts (alpaca, prompt-completion, gsm8k, pubmedqa) and non-assistant turns (chat, sharegpt) from the
   *  loss. Ignored by text and pretokenized. */
  maskPrompt: boolean;
  packing: boolean;
  /** Use only the first `limit` records (text: the first `limit` chunks). */
  limit?: number;
  /** The readers' field names -> the file's column names, for files named otherwise (not pretokenized, pubmedqa). */
  columns?: ColumnMap;
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

const FORMATS = DATA_FORMATS.filter((f) => f !== 'auto').join(', ');

/** The columns (record keys) each format reads from a table; a Parquet file must have them. */
const COLUMNS: Partial<Record<DataFormat, string[]>> = {
  alpaca: ['instruction', 'output'], chat: ['messages'], sharegpt: ['conversations'],
  'prompt-completion': ['prompt', 'completion'], text: ['text'], gsm8k: ['question', 'answer'], pretokenized: ['input_ids'],
};

/**
 * Guesses the format: .txt/.md is text; otherwise the keys of the first record decide (JSONL, a JSON array, a
 * JSON object of entries, or the first row of a Parquet file): input_ids -> pretokenized, messages -> chat,
 * conversations -> sharegpt, instruction -> alpaca, prompt + completion -> prompt-completion, question + answer
 * with "####" -> gsm8k, text -> text, entries with QUESTION and final_decision -> pubmedqa.
 */
export function detectFormat(path: string, columns: ColumnMap = {}): Exclude<DataFormat, 'auto'> {
  if (isPlainTextFile(path)) return 'text';
  const parquet = isParquetFile(path);
  const raw = parquet ? readParquet(path).rows[0] : firstRecord(path, readDataText(path));
  if (raw === undefined) throw new DataError(`${path}: the dataset is empty`);
  const first = renameColumns(raw, columns);
  const keys = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const r = keys(first);
  if ('input_ids' in r) return 'pretokenized';
  if ('messages' in r) return 'chat';
  if ('conversations' in r) return 'sharegpt';
  if ('instruction' in r) return 'alpaca';
  if ('prompt' in r && 'completion' in r) return 'prompt-completion';
  if (typeof r['question'] === 'string' && typeof r['answer'] === 'string' && r['answer'].includes('####')) return 'gsm8k';
  if (typeof r['text'] === 'string') return 'text';
  if (parquet) {
    throw new DataError(`${path}: cannot tell the data format from the Parquet columns (found: ${readParquet(path).columns.join(', ') || 'none'}); ` +
      `expected input_ids (pretokenized), instruction + output (alpaca), messages (chat), conversations (sharegpt), prompt + completion, or text; map yours with data.columns, or set data.format`);
  }
  const entry = keys(Object.values(r)[0]);
  if ('QUESTION' in entry && 'final_decision' in entry) return 'pubmedqa';
  const seen = Object.keys(r).slice(0, 8).join(', ');
  throw new DataError(`${path}: cannot tell the data format from the first record (keys: ${seen || 'none'}); set data.format (${FORMATS})`);
}

/** A Parquet file must have the columns its format reads; the error names the columns it has. */
function checkParquetColumns(path: string, format: Exclude<DataFormat, 'auto'>, mapped: ColumnMap = {}): void {
  const needed = COLUMNS[format];
  const { columns } = readParquet(path);
  const present = new Set([...columns, ...Object.entries(mapped).filter(([, theirs]) => columns.includes(theirs)).map(([ours]) => ours)]);
  if (needed === undefined) throw new DataError(`${path}: format '${format}' cannot be read from Parquet; expected one of ${Object.keys(COLUMNS).join(', ')}`);
  const missing = needed.filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new DataError(`${path}: format '${format}' needs the column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c}'`).join(', ')}; ` +
      `the file has columns: ${columns.join(', ') || 'none'}${Object.keys(mapped).length ? ` (data.columns maps ${JSON.stringify(mapped)})` : ''}`);
  }
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
  const cols = opts.columns;
  const format = opts.format === 'auto' ? detectFormat(opts.path, cols) : opts.format;
  if (isParquetFile(opts.path)) checkParquetColumns(opts.path, format, cols);
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
      case 'alpaca': examples = take(readAlpaca(opts.path, cols)).map((r) => alpacaExample(tok, r, mask)); break;
      case 'chat': examples = take(readChat(opts.path, cols)).map((r) => chatExample(tok, r.messages, mask, r.where)); break;
      case 'sharegpt': examples = take(readShareGpt(opts.path, cols)).map((r) => chatExample(tok, r.messages, mask, r.where)); break;
      case 'prompt-completion': examples = take(readCompletions(opts.path, cols)).map((r) => completionExample(tok, r, mask)); break;
      case 'gsm8k': examples = take(readGsm8k(opts.path, cols)).map((r) => gsm8kExample(tok, r, mask)); break;
      case 'pubmedqa': examples = take(readPubmedqa(opts.path)).map((e) => pubmedqaExample(tok, e, mask)); break;
      case 'text': {
        const docs = readTextDocuments(opts.path, cols);
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
