// Test helpers for the CLI: run `lisa` in-process with stdout/stderr captured, and temp folders removed after
// the file's tests.
import { afterAll, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';

export interface CliRun { code: number; out: string; err: string; writes: number }

export async function runCli(argv: string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  let writes = 0;
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), writes++, true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(argv), out, err, writes };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** A maker of temp folders (named prefix-XXXX) that are all removed after the calling file's tests. */
export function tempDirs(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return () => {
    const d = mkdtempSync(join(tmpdir(), `${prefix}-`));
    made.push(d);
    return d;
  };
}
