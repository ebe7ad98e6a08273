// Pre-tokenized JSONL: one {"input_ids": [...]} object per line (optional "labels" of the same length).
import { readFileSync } from 'node:fs';
import { LisaError } from '../util/errors.js';
import type { Example } from './example.js';

export class DataError extends LisaError {}

/** Reads every line; errors name the file and the line number. */
export function readPretokenized(path: string, vocabSize?: number): Example[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DataError(`${path}: cannot read the data file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const out: Example[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new DataError(`${path}:${i + 1}: not valid JSON`);
    }
    const ids = (obj as { input_ids?: unknown })?.input_ids;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => Number.isInteger(x) && x >= 0 && (vocabSize === undefined || x < vocabSize))) {
      throw new DataError(`${path}:${i + 1}: 'input_ids' must be a non-empty array of token ids${vocabSize ? ` in [0, ${vocabSize})` : ''}`);
    }
    const labels = (obj as { labels?: unknown }).labels;
    if (labels !== undefined && (!Array.isArray(labels) || labels.length !== ids.length || !labels.every(Number.isInteger))) {
      throw new DataError(`${path}:${i + 1}: 'labels' must be an array of integers as long as input_ids`);
    }
    out.push({ ids: ids as number[], labels: (labels as number[] | undefined) ?? [...(ids as number[])] });
  });
  return out;
}
