// Training checkpoints: weights (or the LoRA adapter), AdamW state and the run state (step, data position,
// sampler and RNG states), written atomically as a folder: a complete checkpoint.tmp replaces checkpoint,
// and the previous one is kept (as checkpoint.old) until the new one is in place.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, readSafetensors, openSafetensors } from '../io/safetensors.js';
import { makeMaster } from '../tensor/precision.js';
import { writeTextAtomicSync, fsyncDirSync } from '../io/atomic.js';
import type { Parameter } from '../tensor/tensor.js';
import type { AdamW, AdamWStateDict } from '../optim/adamw.js';
import { LisaError } from '../util/errors.js';

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
  /** The run's config (out as an absolute path): a resume with another config is refused. */
  config?: unknown;
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
    // Weights as they are: fp32 (masters included) as F32, bf16 weights as their BF16 bits.
    writeSafetensors(join(tmp, 'weights.safetensors'), params.map((p) => (p.dtype === 'bfloat16'
      ? { name: p.name as string, shape: p.shape, data: p.bits, dtype: 'BF16' as const }
      : { name: p.name as string, shape: p.shape, data: p.buf as Float32Array })));
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

/** Restores params and optimizer state from a checkpoint folder and returns the run state. */
export function loadCheckpoint(dir: string, params: readonly Parameter[], opt: AdamW): RunState {
  let state: RunState & { optimizerSteps: Record<string, number> };
  try {
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${join(dir, 'state.json')}: cannot read the run state: ${(e as Error).message}`);
  }
  if (state.version !== 1) throw new CheckpointError(`${join(dir, 'state.json')}: unknown checkpoint version ${String(state.version)}`);
  const weights = openSafetensors(join(dir, 'weights.safetensors'));
  try {
    for (const p of params) {
      const name = p.name as string;
      if (!weights.has(name) || weights.info(name).numel !== p.size) {
        throw new CheckpointError(`${join(dir, 'weights.safetensors')}: tensor '${p.name}' is missing or has the wrong size; is this checkpoint from another config?`);
      }
      // A bf16 weight saved as its F32 master (it was training) gets its master back, bit for bit.
      if (p.bf16Rest && weights.info(name).dtype === 'F32') makeMaster(p);
      if (p.dtype === 'bfloat16') weights.readIntoBf16(name, p.bits);
      else if (p.buf instanceof Float32Array) weights.readInto(name, p.buf);
      else p.buf.set(weights.read(name));
    }
  } finally {
    weights.close();
  }
  const raw = readSafetensors(join(dir, 'optimizer.safetensors'));
  const dict: AdamWStateDict = {
    entries: Object.entries(state.optimizerSteps).map(([name, step]) => {
      const m = raw.get(`${name}::m`);
      const v = raw.get(`${name}::v`);
      if (!m || !v) throw new CheckpointError(`${join(dir, 'optimizer.safetensors')}: state of '${name}' is missing`);
      return { name, step, m, v };
    }),
  };
  opt.loadStateDict(dict, params);
  return state;
}

/** The config a checkpoint was saved with (undefined for checkpoints that predate it). */
export function savedConfig(dir: string): unknown {
  try {
    return (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as RunState).config;
  } catch (e) {
    throw new CheckpointError(`${join(dir, 'state.json')}: cannot read the run state: ${(e as Error).message}`);
  }
}
