// A `lisa train` output folder as the norms analysis reads it: the result (final/, an HF folder, or adapter/, a
// PEFT LoRA adapter), its method, and its norms trajectory when one was recorded.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { NormsError } from './errors.js';
import { NORMS_FILE } from '../train/norms-trajectory.js';

export type RunMethod = 'full' | 'lora' | 'lisa';

export interface RunFolder {
  name: string;
  dir: string;
  method: RunMethod;
  /** final/ (full, lisa) or adapter/ (lora). */
  resultDir: string;
  trajectory: string;
}

/** The method a run used: adapter/ is LoRA (adapter_config.json says LORA); for final/, the config saved in the
 *  checkpoint's state.json when there is one, else metrics.jsonl (LISA logs the active blocks of every step). */
function detectMethod(dir: string): { method: RunMethod; resultDir: string } {
  const adapter = join(dir, 'adapter');
  if (existsSync(join(adapter, 'adapter_config.json'))) return { method: 'lora', resultDir: adapter };
  const final = join(dir, 'final');
  if (!existsSync(join(final, 'config.json'))) {
    throw new NormsError(`${dir} is not a finished lisa train run: it has neither final/config.json (full or LISA) nor adapter/adapter_config.json (LoRA)`);
  }
  for (const ck of ['checkpoint', 'checkpoint.old']) {
    const state = join(dir, ck, 'state.json');
    if (!existsSync(state)) continue;
    try {
      const kind = (JSON.parse(readFileSync(state, 'utf8')) as { config?: { method?: { kind?: unknown } } }).config?.method?.kind;
      if (kind === 'full' || kind === 'lisa') return { method: kind, resultDir: final };
    } catch {
      // a damaged state.json: fall back to the metrics
    }
  }
  const metrics = join(dir, 'metrics.jsonl');
  if (!existsSync(metrics)) {
    throw new NormsError(`${dir}: cannot tell full fine-tuning from LISA: no checkpoint/state.json and no metrics.jsonl (LISA logs activeLayers there)`);
  }
  const first = readFileSync(metrics, 'utf8').split('\n').find((l) => l.trim());
  if (first === undefined) throw new NormsError(`${metrics} is empty; cannot tell full fine-tuning from LISA`);
  let row: unknown;
  try {
    row = JSON.parse(first);
  } catch (e) {
    throw new NormsError(`${metrics}: the first line is not JSON (${(e as Error).message})`);
  }
  return { method: row && typeof row === 'object' && 'activeLayers' in row ? 'lisa' : 'full', resultDir: final };
}

/** Opens the run folders; each is named by its folder name (its path as given when two names clash). */
export function openRuns(dirs: readonly string[]): RunFolder[] {
  const names = dirs.map((d) => basename(resolve(d)));
  return dirs.map((dir, i) => {
    if (!existsSync(dir)) throw new NormsError(`run folder ${dir} does not exist`);
    const { method, resultDir } = detectMethod(dir);
    const name = names.filter((n) => n === names[i]).length > 1 ? dir : names[i];
    return { name, dir, method, resultDir, trajectory: join(dir, NORMS_FILE) };
  });
}
