// Fuzz slice of the normal suite: 1,000 seeded cases over every file kind must each give a result or a typed
// error naming the file; no crash, no case over 10 s, no allocation beyond the file's size. The nightly-size
// run is bench/fuzz.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFailure, formatTable, runFuzz } from './driver.js';

const root = mkdtempSync(join(tmpdir(), 'lisa-fuzz-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('fuzzed input files', () => {
  it('1,000 cases over all kinds: results or typed errors naming the file, no crash, hang or over-allocation', () => {
    const seed = 20261201;
    const { stats, failures } = runFuzz({ seed, cases: 1000, root });
    expect(failures.map((c) => describeFailure(c, seed)), formatTable(stats)).toEqual([]);
    expect(stats.reduce((n, s) => n + s.cases, 0)).toBe(1000);
    for (const s of stats) expect(s.result + s.typed, s.kind).toBe(s.cases);
    // The mutations reach past the first check: some cases still load, most are refused.
    expect(stats.reduce((n, s) => n + s.result, 0)).toBeGreaterThan(50);
  }, 180_000);
});
