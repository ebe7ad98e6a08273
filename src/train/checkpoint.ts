// Training checkpoints: weights (or the LoRA adapter), AdamW state and the run state (step, data position,
// sampler and RNG states), written atomically as a folder: a complete checkpoint.tmp replaces checkpoint, and
// the previous one stays as checkpoint.old. state.json records each file's SHA-256; a resume verifies them and
// falls back to checkpoint.old when the newest is damaged, so it never trains from garbage.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, readSafetensors, openSafetensors } from '../io/safetensors.js';
import { makeMaster } from '../tensor/precision.js';
import { writeTextAtomicSync, fsyncDirSync } from '../io/atomic.js';
import type { Parameter } from '../tensor/tensor.js';
import type { AdamW, AdamWStateDict } from '../optim/adamw.js';
import { LisaError } from '../util/errors.js';
import { showValue } from '../util/show.js';
import { z } from 'zod';

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
  /** SHA-256 (hex) of each file of the checkpoint folder besides state.json. */
  checksums?: Record<string, string>;
  /** SHA-256 of this JSON written without this field (state.json checks itself). */
  stateSha256?: string;
}

const FILES = ['weights.safetensors', 'optimizer.safetensors'];

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** state.json's text: the state, then its own checksum over the JSON before it. */
function stateText(state: object): string {
  const body = JSON.stringify(state);
  return JSON.stringify({ ...state, stateSha256: createHash('sha256').update(body).digest('hex') });
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
      ? { name: p.name, shape: p.shape, data: p.bits, dtype: 'BF16' as const }
      : { name: p.name, shape: p.shape, data: p.buf as Float32Array })));
    const dict = opt.stateDict();
    writeSafetensors(join(tmp, 'optimizer.safetensors'), dict.entries.flatMap((e) => [
      { name: `${e.name}::m`, shape: [e.m.length], data: e.m }, { name: `${e.name}::v`, shape: [e.v.length], data: e.v },
    ]));
    const steps = Object.fromEntries(dict.entries.map((e) => [e.name, e.step]));
    const checksums = Object.fromEntries(FILES.map((f) => [f, sha256(join(tmp, f))]));
    writeTextAtomicSync(join(tmp, 'state.json'), stateText({ ...state, checksums, optimizerSteps: steps }));
    fsyncDirSync(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(`saving the checkpoint in ${outDir} failed${code === 'ENOSPC' ? ' (disk full)' : ''}: ${(e as Error).message}; the previous checkpoint is kept`);
  }
  const final = join(outDir, DIR);
  const old = join(outDir, OLD);
  // The newest complete checkpoint becomes checkpoint.old; when checkpoint is missing (a crash between these
  // renames), checkpoint.old is the newest and stays until the new one is in place.
  if (existsSync(final)) {
    rmSync(old, { recursive: true, force: true });
    renameSync(final, old);
  }
  renameSync(tmp, final);
  fsyncDirSync(outDir);
}

/** The folder of the newest complete checkpoint, or null. */
export function findCheckpoint(outDir: string): string | null {
  for (const d of [DIR, OLD]) if (existsSync(join(outDir, d, 'state.json'))) return join(outDir, d);
  return null;
}

/** What a checkpoint restores into besides parameters and optimizer: the fine-tuning method's state. */
export interface RestorableMethod {
  loadState(state: unknown): void;
  loadRngStates(states: Record<string, unknown>): void;
}

/** Restores params and optimizer state (and the method's state, when given) from a checkpoint folder and
 *  returns the run state. */
export function loadCheckpoint(dir: string, params: readonly Parameter[], opt: AdamW, method?: RestorableMethod): RunState {
  const file = join(dir, 'state.json');
  const state = readRunState(file);
  const weights = openSafetensors(join(dir, 'weights.safetensors'));
  try {
    for (const p of params) {
      const name = p.name;
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
      if (!m || !v) throw new CheckpointError(`${file}: optimizerSteps names '${name}' but ${join(dir, 'optimizer.safetensors')} holds no state for it`);
      return { name, step, m, v };
    }),
  };
  try {
    opt.loadStateDict(dict, params);
    method?.loadState(state.methodState);
    method?.loadRngStates(state.rngStates);
  } catch (e) {
    if (e instanceof LisaError) throw new CheckpointError(`${file}: ${e.message}`, { cause: e });
    throw e;
  }
  return state;
}

const count = z.number().int().nonnegative().refine(Number.isSafeInteger);
const COUNT = 'a non-negative integer';

/** state.json: each field with its type and range, and what the error says it must be. */
const runStateSchema = z.object({
  version: z.literal(1),
  step: count,
  dataCursor: count,
  metricsLines: count,
  optimizerSteps: z.record(count),
  rngStates: z.record(z.unknown()),
  methodState: z.unknown(),
  config: z.unknown().optional(),
  checksums: z.record(z.string()).optional(),
  stateSha256: z.string().optional(),
});
const EXPECTED: Record<string, string> = {
  step: COUNT, dataCursor: COUNT, metricsLines: COUNT, optimizerSteps: 'an object {parameter: step}', rngStates: 'an object',
  checksums: 'an object {file: sha256}', stateSha256: 'a string',
};

/** Reads and checks state.json: every field has its type and range, so a damaged file is an error naming the key. */
function readRunState(file: string): RunState & { optimizerSteps: Record<string, number> } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${file}: cannot read the run state: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CheckpointError(`${file}: expected a JSON object (the run state), got ${showValue(raw)}`);
  const r = runStateSchema.safeParse(raw);
  if (r.success) return { ...(raw as RunState), ...r.data } as RunState & { optimizerSteps: Record<string, number> };
  const issue = r.error.issues[0]!;
  const [top, name] = issue.path.map(String);
  const value = issue.path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], raw);
  if (top === 'version') throw new CheckpointError(`${file}: unknown checkpoint version ${showValue(value)}; expected 1`);
  const key = issue.path.join('.');
  const expected = top === 'optimizerSteps' && name !== undefined ? COUNT : EXPECTED[top ?? ''] ?? 'valid';
  throw new CheckpointError(`${file}: '${key}' must be ${expected}, got ${showValue(value)}`);
}

/** The config a checkpoint was saved with (undefined for checkpoints that predate it). */
export function savedConfig(dir: string): unknown {
  try {
    return (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as RunState).config;
  } catch (e) {
    throw new CheckpointError(`${join(dir, 'state.json')}: cannot read the run state: ${(e as Error).message}`);
  }
}

/** Why a checkpoint folder cannot be trusted (unreadable state, missing file, checksum mismatch), or null. */
export function checkpointProblem(dir: string): string | null {
  let state: RunState;
  try {
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  } catch (e) {
    return `${join(dir, 'state.json')} is unreadable (${(e as Error).message.split('\n')[0]})`;
  }
  if (state === null || typeof state !== 'object' || state.version !== 1) return `${join(dir, 'state.json')} is not a version-1 run state`;
  if (state.stateSha256 !== undefined) {
    const { stateSha256, ...rest } = state;
    if (createHash('sha256').update(JSON.stringify(rest)).digest('hex') !== stateSha256) {
      return `${join(dir, 'state.json')} does not match its own SHA-256 (damaged)`;
    }
  }
  for (const f of FILES) {
    const path = join(dir, f);
    if (!existsSync(path)) return `${path} is missing`;
    const want = state.checksums?.[f];
    if (want !== undefined && sha256(path) !== want) return `${path} does not match its SHA-256 in state.json (damaged or truncated)`;
  }
  return null;
}

/** The newest intact checkpoint (checkpoint, else checkpoint.old) and why newer ones were passed over. Throws
 *  when checkpoints exist but none is intact. */
export function chooseCheckpoint(outDir: string): { dir: string | null; skipped: string[] } {
  const skipped: string[] = [];
  for (const d of [DIR, OLD]) {
    const dir = join(outDir, d);
    if (!existsSync(dir)) continue;
    const problem = checkpointProblem(dir);
    if (problem === null) return { dir, skipped };
    skipped.push(problem);
  }
  if (skipped.length > 0) {
    throw new CheckpointError(`no intact checkpoint in ${outDir}: ${skipped.join('; ')}. Nothing was trained from it; ` +
      'start afresh with --overwrite, or restore the files');
  }
  return { dir: null, skipped };
}
