// The shared fuzz driver: runs seeded cases of each file kind, classifies each (result, typed error naming the
// file, crash, hang over 10 s, allocation beyond the file's size) and tallies a table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { LisaError } from '../../src/util/errors.js';
import { memoryReport, resetPeaks } from '../../src/tensor/memory.js';
import { caseRng } from './mutate.js';
import { KINDS, type Kind, type Seed } from './kinds.js';

export const HANG_MS = 10_000;
/** Bytes a case may allocate (ArrayBuffers + engine tensors) beyond 64x its file's size. */
export const ALLOC_SLACK = 64 * 2 ** 20;

export type Outcome = 'result' | 'typed' | 'crash' | 'hang' | 'alloc';

export interface CaseResult {
  kind: string;
  index: number;
  seed: string;
  what: string;
  outcome: Outcome;
  ms: number;
  bytes: number;
  allocated: number;
  detail: string;
}

export interface KindStats {
  kind: string;
  cases: number;
  result: number;
  typed: number;
  crash: number;
  hang: number;
  alloc: number;
  ms: number;
  maxMs: number;
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface Prepared { kind: Kind; seeds: Seed[] }
const prepared = new Map<string, Prepared>();

/** Seeds of a kind, built once per process under `root`. */
function prepare(kind: Kind, root: string): Prepared {
  let p = prepared.get(kind.name);
  if (p === undefined) {
    const dir = join(root, kind.name.replace(/[^\w.-]/g, '_'));
    mkdirSync(dir, { recursive: true });
    p = { kind, seeds: kind.setup(dir) };
    prepared.set(kind.name, p);
  }
  return p;
}

export function kindNames(): string[] {
  return KINDS.map((k) => k.name);
}

/** Runs case `index` of `kindName` for run seed `seed`; files go under `root`. */
export function runCase(kindName: string, seed: number, index: number, root: string): CaseResult {
  const kind = KINDS.find((k) => k.name === kindName);
  if (kind === undefined) throw new Error(`unknown fuzz kind '${kindName}' (${kindNames().join(', ')})`);
  const { seeds } = prepare(kind, root);
  const r = caseRng(seed, kind.name, index);
  const s = seeds[index % seeds.length]!;
  let bytes: Uint8Array;
  let what: string;
  try {
    [bytes, what] = s.mutate(r);
  } catch (e) {
    throw new Error(`fuzz harness: mutating ${kind.name} case ${index} (seed file ${s.name}) failed: ${(e as Error).message}`, { cause: e });
  }
  const dir = s.dir ?? join(root, kind.name.replace(/[^\w.-]/g, '_'), 'case');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, s.file);
  writeFileSync(path, bytes);
  gc();
  const ab0 = process.memoryUsage().arrayBuffers;
  const live0 = memoryReport().liveTotal;
  resetPeaks();
  const t0 = performance.now();
  let outcome: Outcome;
  let detail: string;
  const warn = console.warn;
  console.warn = () => {}; // the tokenizers library warns on odd components; the outcome is what counts
  try {
    detail = s.run(path, r);
    outcome = 'result';
  } catch (e) {
    const err = e as Error;
    detail = `${err?.name}: ${String(err?.message).slice(0, 300)}`;
    outcome = e instanceof LisaError && err.message.includes(path) ? 'typed' : 'crash';
    if (e instanceof LisaError && outcome === 'crash') detail = `typed error does not name ${path}: ${detail}`;
    if (outcome === 'crash' && err?.stack) detail += `\n${err.stack.split('\n').slice(1, 6).join('\n')}`;
  }
  console.warn = warn;
  const ms = performance.now() - t0;
  const allocated = Math.max(0, process.memoryUsage().arrayBuffers - ab0) + Math.max(0, memoryReport().peakTotal - live0);
  if (outcome !== 'crash' && ms > HANG_MS) outcome = 'hang';
  if (outcome !== 'crash' && outcome !== 'hang' && allocated > ALLOC_SLACK + 64 * bytes.length) {
    outcome = 'alloc';
    detail = `allocated ${allocated} bytes for a ${bytes.length}-byte file; ${detail}`;
  }
  return { kind: kind.name, index, seed: s.name, what, outcome, ms, bytes: bytes.length, allocated, detail };
}

export interface FuzzOptions {
  seed: number;
  /** Total cases, spread evenly over the kinds. */
  cases: number;
  kinds?: readonly string[];
  root: string;
  onCase?(c: CaseResult): void;
}

/** Runs a whole fuzz campaign; returns per-kind stats and the failing cases. */
export function runFuzz(opts: FuzzOptions): { stats: KindStats[]; failures: CaseResult[] } {
  const names = opts.kinds ?? kindNames();
  const stats: KindStats[] = [];
  const failures: CaseResult[] = [];
  names.forEach((name, k) => {
    const n = Math.floor(opts.cases / names.length) + (k < opts.cases % names.length ? 1 : 0);
    const st: KindStats = { kind: name, cases: 0, result: 0, typed: 0, crash: 0, hang: 0, alloc: 0, ms: 0, maxMs: 0 };
    for (let i = 0; i < n; i++) {
      const c = runCase(name, opts.seed, i, opts.root);
      st.cases++;
      st[c.outcome]++;
      st.ms += c.ms;
      st.maxMs = Math.max(st.maxMs, c.ms);
      if (c.outcome !== 'result' && c.outcome !== 'typed') failures.push(c);
      opts.onCase?.(c);
    }
    stats.push(st);
  });
  return { stats, failures };
}

/** The printed table. */
export function formatTable(stats: readonly KindStats[]): string {
  const head = ['kind', 'cases', 'results', 'typed errors', 'crashes', 'hangs', 'over-alloc', 'time s', 'max case ms'];
  const rows = stats.map((s) => [s.kind, s.cases, s.result, s.typed, s.crash, s.hang, s.alloc, (s.ms / 1000).toFixed(1), s.maxMs.toFixed(0)].map(String));
  const sum = (f: (s: KindStats) => number) => stats.reduce((a, s) => a + f(s), 0);
  rows.push(['total', sum((s) => s.cases), sum((s) => s.result), sum((s) => s.typed), sum((s) => s.crash), sum((s) => s.hang), sum((s) => s.alloc),
    (sum((s) => s.ms) / 1000).toFixed(1), Math.max(0, ...stats.map((s) => s.maxMs)).toFixed(0)].map(String));
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' | ')} |`;
  return [line(head), `|${w.map((x, i) => (i === 0 ? '-' : '') + '-'.repeat(x + 1) + (i === 0 ? '' : ':')).join('|')}|`, ...rows.map(line)].join('\n');
}

/** A failing case in one paragraph, with the command that replays it. */
export function describeFailure(c: CaseResult, seed: number): string {
  return `${c.outcome.toUpperCase()} ${c.kind} case ${c.index} (seed file ${c.seed}; ${c.what}) after ${c.ms.toFixed(0)} ms: ${c.detail}\n` +
    `  replay: node --import tsx bench/fuzz.ts --seed ${seed} --kind ${c.kind} --case ${c.index}`;
}
