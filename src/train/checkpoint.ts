// Training checkpoints: weights (or the LoRA adapter), AdamW state and the run state (step, data position,
// sampler and RNG states), written atomically as a folder: a complete checkpoint.tmp replaces checkpoint,
// and the previous one is kept (as checkpoint.old) until the new one is in place.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, readSafetensors } from '../io/safetensors.js';
import { writeTextAtomicSync, fsyncDirSync } from '../io/atomic.js';
import type { Parameter } from '../tensor/tensor.js';
import type { AdamW, AdamWStateDict } from '../optim/adamw.js';
import { LisaError } from '../util/errors.js';
import { showValue } from '../util/show.js';

export class CheckpointError extends LisaError {}

export interface RunState {
  version: 1;
  /** Optimizer steps completed. */
  step: number;
  /** Examples consumed from the training stream (its position). */
  dataCursor: number;
  /** Lines of metrics.jsonl that belong to steps <= step. */
  metricsLines: number;
  methodState: unknown;
  /** Seeded RNG states other than the sampler's (e.g. dropout). */
  rngStates: Record<string, unknown>;
}

const DIR = 'checkpoint';
const OLD = 'checkpoint.old';
const TMP = 'checkpoint.tmp';

/** Writes params, optimizer state and run state under outDir/checkpoint. On failure the previous checkpoint
 *  is untouched and the error says so. */
export function saveCheckpoint(outDir: string, params: readonly Parameter[], opt: AdamW, state: RunState): void {
  const tmp = join(outDir, TMP);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp, { recursive: true });
    writeSafetensors(join(tmp, 'weights.safetensors'), params.map((p) => ({ name: p.name as string, shape: p.shape, data: p.buf as Float32Array })));
    const dict = opt.stateDict();
    writeSafetensors(join(tmp, 'optimizer.safetensors'), dict.entries.flatMap((e) => [
      { name: `${e.name}::m`, shape: [e.m.length], data: e.m }, { name: `${e.name}::v`, shape: [e.v.length], data: e.v },
    ]));
    const steps = Object.fromEntries(dict.entries.map((e) => [e.name, e.step]));
    writeTextAtomicSync(join(tmp, 'state.json'), JSON.stringify({ ...state, optimizerSteps: steps }));
    fsyncDirSync(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(`saving the checkpoint in ${outDir} failed${code === 'ENOSPC' ? ' (disk full)' : ''}: ${(e as Error).message}; the previous checkpoint is kept`);
  }
  const final = join(outDir, DIR);
  const old = join(outDir, OLD);
  rmSync(old, { recursive: true, force: true });
  if (existsSync(final)) renameSync(final, old);
  renameSync(tmp, final);
  fsyncDirSync(outDir);
  rmSync(old, { recursive: true, force: true });
}

/** The folder of the newest complete checkpoint, or null. */
export function findCheckpoint(outDir: string): string | null {
  for (const d of [DIR, OLD]) if (existsSync(join(outDir, d, 'state.json'))) return join(outDir, d);
  return null;
}

/** What a checkpoint restores into besides parameters and optimizer: the fine-tuning method's state. */
export interface RestorableMethod {
  loadState(state: unknown): void;
  loadRngState?(state: unknown): void;
}

/** Restores params and optimizer state (and the method's state, when given) from a checkpoint folder and
 *  returns the run state. */
export function loadCheckpoint(dir: string, params: readonly Parameter[], opt: AdamW, method?: RestorableMethod): RunState {
  const file = join(dir, 'state.json');
  const state = readRunState(file);
  const weights = readSafetensors(join(dir, 'weights.safetensors'));
  for (const p of params) {
    const data = weights.get(p.name as string);
    if (!data || data.length !== p.size) {
      throw new CheckpointError(`${join(dir, 'weights.safetensors')}: tensor '${p.name}' is missing or has the wrong size; is this checkpoint from another config?`);
    }
    p.buf.set(data);
  }
  const raw = readSafetensors(join(dir, 'optimizer.safetensors'));
  const dict: AdamWStateDict = {
    entries: Object.entries(state.optimizerSteps).map(([name, step]) => {
      const m = raw.get(`${name}::m`);
      const v = raw.get(`${name}::v`);
      if (!m || !v) throw new CheckpointError(`${file}: optimizerSteps names '${name}' but ${join(dir, 'optimizer.safetensors')} holds no state for it`);
      return { name, step, m, v };
    }),
  };
  try {
    opt.loadStateDict(dict, params);
    method?.loadState(state.methodState);
    if (method?.loadRngState && state.rngStates['dropout'] !== undefined) method.loadRngState(state.rngStates['dropout']);
  } catch (e) {
    if (e instanceof LisaError) throw new CheckpointError(`${file}: ${e.message}`, { cause: e });
    throw e;
  }
  return state;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Reads and checks state.json: every field has its type and range, so a damaged file is an error naming the key. */
function readRunState(file: string): RunState & { optimizerSteps: Record<string, number> } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${file}: cannot read the run state: ${(e as Error).message}`);
  }
  const bad = (key: string, expected: string, v: unknown) => new CheckpointError(`${file}: '${key}' must be ${expected}, got ${showValue(v)}`);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CheckpointError(`${file}: expected a JSON object (the run state), got ${showValue(raw)}`);
  const s = raw as Record<string, unknown>;
  if (s['version'] !== 1) throw new CheckpointError(`${file}: unknown checkpoint version ${showValue(s['version'])}; expected 1`);
  for (const k of ['step', 'dataCursor', 'metricsLines']) if (!isCount(s[k])) throw bad(k, 'a non-negative integer', s[k]);
  const steps = s['optimizerSteps'];
  if (steps === null || typeof steps !== 'object' || Array.isArray(steps)) throw bad('optimizerSteps', 'an object {parameter: step}', steps);
  for (const [name, step] of Object.entries(steps)) if (!isCount(step)) throw bad(`optimizerSteps.${name}`, 'a non-negative integer', step);
  const rng = s['rngStates'];
  if (rng === null || typeof rng !== 'object' || Array.isArray(rng)) throw bad('rngStates', 'an object', rng);
  return raw as RunState & { optimizerSteps: Record<string, number> };
}
