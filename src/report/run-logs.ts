// Reads a run folder's logs (metrics.jsonl: one line per optimizer step; eval.jsonl: one line per evaluation)
// as plain rows for reports; damaged lines are skipped, so a report of a crashed run still shows what it logged.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One metrics.jsonl line (the fields a report reads; the trainer writes them). */
export interface StepRow {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  /** Seconds of the step's compute (absent in logs written before the field existed). */
  seconds?: number;
  activeLayers?: number[];
  memory: Record<string, number>;
}

export interface EvalRow { step: number; loss: number; perplexity: number; tokens: number }

export interface RunLogs { steps: StepRow[]; evals: EvalRow[] }

function readJsonLines<T>(path: string, valid: (row: T) => boolean): T[] {
  if (!existsSync(path)) return [];
  const rows: T[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line) as T;
      if (row && typeof row === 'object' && valid(row)) rows.push(row);
    } catch {
      // a line cut short by a crash: skipped
    }
  }
  return rows;
}

const isNum = (x: unknown): x is number => typeof x === 'number';

/** The rows of DIR/metrics.jsonl and DIR/eval.jsonl (empty when a file is missing). */
export function readRunLogs(dir: string): RunLogs {
  return {
    steps: readJsonLines<StepRow>(join(dir, 'metrics.jsonl'), (r) => isNum(r.step) && isNum(r.loss)),
    evals: readJsonLines<EvalRow>(join(dir, 'eval.jsonl'), (r) => isNum(r.step) && isNum(r.loss)),
  };
}
