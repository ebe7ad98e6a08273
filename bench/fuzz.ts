// Nightly-size fuzz run over every file kind; prints a table (cases, results, typed errors, crashes, hangs, time).
// Run: node --import tsx bench/fuzz.ts [--cases 10000] [--seed N] [--kind K] [--case I] [--verbose]
// A failing case replays alone with --kind K --case I and the same --seed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFailure, formatTable, kindNames, runCase, runFuzz } from '../test/fuzz/driver.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// The yaml parser warns (on stderr) about unknown tags in mutated configs; the outcome is what counts here.
process.removeAllListeners('warning');
const seed = Number(arg('seed') ?? 1);
const cases = Number(arg('cases') ?? 10_000);
const kind = arg('kind');
const one = arg('case');
const verbose = process.argv.includes('--verbose');
const root = mkdtempSync(join(tmpdir(), 'lisa-fuzz-'));
try {
  if (kind !== undefined && one !== undefined) {
    const c = runCase(kind, seed, Number(one), root);
    console.log(`${c.kind} case ${c.index} (seed file ${c.seed}; ${c.what}): ${c.outcome} in ${c.ms.toFixed(1)} ms, ${c.bytes} bytes, allocated ${c.allocated}\n${c.detail}`);
    process.exitCode = c.outcome === 'result' || c.outcome === 'typed' ? 0 : 1;
  } else {
    const t0 = performance.now();
    console.log(`fuzz: ${cases} cases, seed ${seed}, kinds ${(kind ? [kind] : kindNames()).join(', ')}`);
    const { stats, failures } = runFuzz({
      seed, cases, root, ...(kind ? { kinds: [kind] } : {}),
      onCase: (c) => {
        if (verbose) console.log(`${c.kind} #${c.index} ${c.outcome} ${c.ms.toFixed(1)}ms ${c.what} -> ${c.detail.split('\n')[0]}`);
        else if (c.outcome !== 'result' && c.outcome !== 'typed') console.log(describeFailure(c, seed));
      },
    });
    console.log(formatTable(stats));
    console.log(`wall time ${((performance.now() - t0) / 1000).toFixed(1)} s; ${failures.length} failing cases`);
    process.exitCode = failures.length === 0 ? 0 : 1;
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
