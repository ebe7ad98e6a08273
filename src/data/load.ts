// Dataset loading: detects the format and reads examples (truncated to maxLength, optionally packed).
import { extname } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Tokenizer } from './tokenizer.js';
import type { Example } from './example.js';
import { readPretokenized, DataError } from './pretokenized.js';

export type DataFormat = 'auto' | 'alpaca' | 'chat' | 'text' | 'pretokenized' | 'gsm8k' | 'pubmedqa';

export interface DataOptions {
  path: string;
  format: DataFormat;
  maxLength: number;
  maskPrompt: boolean;
  packing: boolean;
  limit?: number;
}

/** Guesses the format from the extension and the first record. */
export function detectFormat(path: string): Exclude<DataFormat, 'auto'> {
  const ext = extname(path).toLowerCase();
  if (ext === '.txt' || ext === '.md') return 'text';
  let head: string;
  try {
    head = readFileSync(path, 'utf8').slice(0, 65536);
  } catch (e) {
    throw new DataError(`${path}: cannot read the data file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (/"input_ids"\s*:/.test(head)) return 'pretokenized';
  if (/"messages"\s*:/.test(head)) return 'chat';
  if (/"instruction"\s*:/.test(head)) return 'alpaca';
  if (/"question"\s*:[^\n]*"answer"\s*:[^\n]*####/.test(head)) return 'gsm8k';
  if (/"QUESTION"\s*:/.test(head) && /"final_decision"\s*:/.test(head)) return 'pubmedqa';
  throw new DataError(`${path}: cannot tell the data format; set data.format (alpaca, chat, text, pretokenized, gsm8k, pubmedqa)`);
}

export function loadExamples(opts: DataOptions, tokenizer: Tokenizer | null, vocabSize?: number): Example[] {
  const format = opts.format === 'auto' ? detectFormat(opts.path) : opts.format;
  let examples: Example[];
  if (format === 'pretokenized') examples = readPretokenized(opts.path, vocabSize);
  else {
    if (!tokenizer) throw new DataError(`${opts.path}: format '${format}' needs a tokenizer, and the model folder has no tokenizer.json`);
    throw new DataError(`${opts.path}: format '${format}' is not readable yet`);
  }
  if (opts.limit !== undefined) examples = examples.slice(0, opts.limit);
  examples = examples.map((e) => (e.ids.length > opts.maxLength ? { ids: e.ids.slice(0, opts.maxLength), labels: e.labels.slice(0, opts.maxLength) } : e));
  if (examples.length === 0) throw new DataError(`${opts.path}: the dataset is empty`);
  return examples;
}
