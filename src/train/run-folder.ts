// One run per output folder: a lock file (PID, host, process start time) that a second `lisa train` into the
// same folder respects and a dead process's lock yields; no silent overwrite of a finished run; no silent
// fresh start when --resume finds no checkpoint; a resume whose config differs (beyond train.steps) refused.
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { LisaError } from '../util/errors.js';

export class RunFolderError extends LisaError {}

const LOCK = 'lisa.lock';

interface LockInfo { pid: number; host: string; started: string | null }

/** The kernel's start time of a process (field 22 of /proc/PID/stat), to tell a live PID from a reused one. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(lock: LockInfo): boolean {
  try {
    process.kill(lock.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  return lock.started === null || processStart(lock.pid) === null || processStart(lock.pid) === lock.started;
}

/** Takes OUT/lisa.lock for this process; returns its release. A lock held by a live process (or by another
 *  host, whose processes cannot be checked) refuses; a stale one from a dead process is taken over. */
export function lockRunFolder(out: string): () => void {
  mkdirSync(out, { recursive: true });
  const path = join(out, LOCK);
  const me: LockInfo = { pid: process.pid, host: hostname(), started: processStart(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let held: LockInfo | null = null;
      try {
        held = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
      } catch {
        // unreadable or half-written: the writer died between create and write; treat as stale
      }
      if (held && typeof held.pid === 'number' && held.host !== me.host) {
        throw new RunFolderError(`${out} is locked by a lisa train on host ${held.host} (pid ${held.pid}); if that run is gone, delete ${path}`);
      }
      if (held && typeof held.pid === 'number' && held.pid !== process.pid && isAlive(held)) {
        throw new RunFolderError(`${out} is in use by another lisa train (pid ${held.pid} on ${held.host}); wait for it to finish or choose another 'out'`);
      }
      unlinkSync(path); // stale: its process is gone
      continue;
    }
    writeSync(fd, JSON.stringify(me));
    closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off('exit', release);
      try {
        const held = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
        if (held.pid === process.pid) unlinkSync(path);
      } catch {
        // already gone
      }
    };
    process.on('exit', release);
    return release;
  }
  throw new RunFolderError(`${out}: could not take ${path} (another run keeps recreating it)`);
}

/** What a previous run left in OUT: its final model or adapter, metrics and checkpoints. */
function previousRun(out: string): string[] {
  if (!existsSync(out)) return [];
  const found: string[] = [];
  for (const d of ['final', 'adapter', 'checkpoint', 'checkpoint.old']) if (existsSync(join(out, d))) found.push(`${d}/`);
  const metrics = join(out, 'metrics.jsonl');
  if (existsSync(metrics)) {
    const lines = readFileSync(metrics, 'utf8').split('\n').filter(Boolean).length;
    if (lines > 0) found.push(`metrics.jsonl (${lines} steps)`);
  }
  return found;
}

/** A fresh run refuses a folder that holds a previous run unless overwrite is set (then clears it, as HF's
 *  overwrite_output_dir). */
export function prepareFreshRun(out: string, overwrite: boolean): void {
  const found = previousRun(out);
  if (found.length === 0) return;
  if (!overwrite) {
    throw new RunFolderError(`${out} holds a previous run (${found.join(', ')}); pass --resume to continue it, ` +
      `--overwrite to replace it, or choose another 'out'`);
  }
  for (const name of readdirSync(out)) {
    if (['final', 'adapter', 'checkpoint', 'checkpoint.old', 'checkpoint.tmp', 'metrics.jsonl', 'eval.jsonl', 'norms.jsonl'].includes(name)) {
      rmSync(join(out, name), { recursive: true, force: true });
    }
  }
}

/** The config as compared on resume: out as an absolute path. */
export function comparableConfig(cfg: { out: string }): Record<string, unknown> {
  return { ...cfg, out: resolve(cfg.out) };
}

/** Keys a resume may change: the run's length, and gradient checkpointing, which changes memory but not one bit
 *  of the results (so a run that ran out of memory can resume with it on). */
export const RESUME_MAY_CHANGE: readonly string[] = ['train.steps', 'train.gradientCheckpointing'];

/** Dotted keys whose values differ between the checkpoint's config and this run's, RESUME_MAY_CHANGE excepted. */
export function configDifferences(saved: unknown, now: unknown, prefix = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(saved) && isObj(now)) {
    const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])].sort();
    return keys.flatMap((k) => configDifferences(saved[k], now[k], prefix ? `${prefix}.${k}` : k));
  }
  if (RESUME_MAY_CHANGE.includes(prefix)) return [];
  return JSON.stringify(saved) === JSON.stringify(now) ? [] : [prefix];
}
