// Pre-tokenized data: records of {"input_ids": [...]} (optional "labels" of the same length) in JSONL, a JSON array
// or a Parquet table (as tokenized Hugging Face datasets are published).
import { DataError } from './data-error.js';
import { describeValue, readRecords, recordObject } from './prompt.js';
import type { Example } from './example.js';

/** Reads every record; errors name the file and the line (JSONL), index (JSON array) or row (Parquet). */
export function readPretokenized(path: string, vocabSize?: number): Example[] {
  return readRecords(path).map((rec) => {
    const obj = recordObject(rec);
    const ids = obj['input_ids'];
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => Number.isInteger(x) && x >= 0 && (vocabSize === undefined || x < vocabSize))) {
      throw new DataError(`${rec.where}: 'input_ids' must be a non-empty array of token ids${vocabSize ? ` in [0, ${vocabSize})` : ''}, got ${describeValue(ids)}`);
    }
    const labels = obj['labels'];
    if (labels !== undefined && labels !== null && (!Array.isArray(labels) || labels.length !== ids.length || !labels.every(Number.isInteger))) {
      throw new DataError(`${rec.where}: 'labels' must be an array of integers as long as input_ids (${ids.length})`);
    }
    return { ids: ids as number[], labels: Array.isArray(labels) ? labels as number[] : [...(ids as number[])] };
  });
}
