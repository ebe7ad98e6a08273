// Language-model evaluation of a data file: mean next-token cross-entropy and perplexity. Pre-tokenized rows are
// read as they are; the text formats go through the training data loader, so the loss covers exactly the tokens
// training learns (the answers, with the prompts masked). Downstream tasks (accuracy on GSM8K, PubMedQA) run from
// the EVAL_TASKS table.
import type { CausalLM } from '../models/causal-lm.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { Example } from '../data/example.js';
import { readPretokenized } from '../data/pretokenized.js';
import { DataError } from '../data/data-error.js';
import { DATA_FORMATS, detectFormat, loadExamples } from '../data/load.js';
import { ArgumentError } from '../util/errors.js';
import { evaluate, type EvalResult } from './evaluate.js';

export type { EvalResult } from './evaluate.js';

/** Data formats `lisa eval` can measure the loss of: those of training ('auto' detects it from the file). */
export const LM_EVAL_FORMATS = DATA_FORMATS;
export type LmEvalFormat = (typeof LM_EVAL_FORMATS)[number];

/** What a reader may use: the vocabulary size to check ids against, and the tokenizer, loaded only on demand
 *  (so a model folder without tokenizer files can evaluate pre-tokenized data). */
export interface ReaderContext {
  vocabSize: number;
  tokenizer: () => Tokenizer;
}

/**
 * A file's examples. An example's loss covers every position t whose next label labels[t + 1] is not -100: for
 * `{"input_ids": [...]}` rows that is every position with a next token (an optional "labels" array of the same
 * length masks positions, as in training). Other formats are read, masked (maskPrompt: true) and truncated to
 * `maxLength` (default: the model's context) by the training loader, which also skips examples left with nothing
 * to score and warns about truncated ones.
 */
function readExamples(path: string, format: LmEvalFormat, ctx: ReaderContext, maxLength: number, limit?: number): Example[] {
  const f = format === 'auto' ? detectFormat(path) : format;
  if (f === 'pretokenized') return readPretokenized(path, ctx.vocabSize);
  return loadExamples({ path, format: f, maxLength, maskPrompt: true, packing: false, limit }, ctx.tokenizer(), ctx.vocabSize);
}

export interface EvalLmOptions {
  /** Default 'auto' (detected from the file, as in training). */
  format?: LmEvalFormat;
  /** Rows per forward pass (right-padded; padding is excluded from the loss). Default 8. */
  batchSize?: number;
  /** Truncate rows to this many tokens. Without it, a pre-tokenized row longer than the model's context is an
   *  error, and the other formats are truncated to the context as training does. */
  maxLength?: number;
  /** Evaluate only the first n rows. */
  limit?: number;
  /** Needed only by formats that tokenize text. */
  tokenizer?: () => Tokenizer;
}

/** Mean next-token cross-entropy (nats per token), perplexity exp(loss) and the number of predicted tokens. */
export function evalLm(model: CausalLM, path: string, opts: EvalLmOptions = {}): EvalResult {
  const format = opts.format ?? 'auto';
  if (!(LM_EVAL_FORMATS as readonly string[]).includes(format)) throw new ArgumentError(`eval: unknown data format '${String(format)}' (expected ${LM_EVAL_FORMATS.join(', ')})`);
  const batchSize = opts.batchSize ?? 8;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new ArgumentError(`eval: batch size must be a positive integer, got ${batchSize}`);
  const maxLength = opts.maxLength;
  if (maxLength !== undefined && (!Number.isSafeInteger(maxLength) || maxLength < 2)) {
    throw new ArgumentError(`eval: max length must be an integer >= 2, got ${maxLength}`);
  }
  const ctx: ReaderContext = {
    vocabSize: model.config.vocabSize,
    tokenizer: opts.tokenizer ?? (() => { throw new DataError(`${path}: format '${format}' needs a tokenizer`); }),
  };
  let rows = readExamples(path, format, ctx, maxLength ?? model.maxPositions, opts.limit);
  if (opts.limit !== undefined) rows = rows.slice(0, opts.limit);
  if (rows.length === 0) throw new DataError(`${path}: no rows to evaluate`);
  rows = rows.map((e, i) => {
    if (maxLength !== undefined && e.ids.length > maxLength) return { ids: e.ids.slice(0, maxLength), labels: e.labels.slice(0, maxLength) };
    if (e.ids.length > model.maxPositions) {
      throw new DataError(`${path}: row ${i + 1} has ${e.ids.length} tokens, more than the model's context of ${model.maxPositions}; set a max length to truncate`);
    }
    return e;
  });
  // Grouping rows of similar length wastes less compute on padding; the loss is a sum, so order does not matter.
  if (batchSize > 1) rows = [...rows].sort((a, b) => a.ids.length - b.ids.length);
  const r = evaluate(model, rows, batchSize, 0);
  if (r.tokens === 0) throw new DataError(`${path}: no position has a next token to predict (every row has one token or is fully masked)`);
  return r;
}
