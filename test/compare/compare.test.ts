// `lisa compare` end to end on a tiny model: results.json, report.md, report.html, the plots and the per-run
// folders exist, and every number of the results table in report.md and report.html is the one in
// results.json (parsed back, equal to the digits shown); the HTML loads nothing from elsewhere.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCompareCli, writeTinyCompare, type CliRun, type TinyCompare } from './tiny-compare.js';

interface Spread { mean: number; sd: number; n: number; values: number[] }
interface MethodJson {
  name: string; trainableParams: number;
  memory: { estimate: Record<string, number>; measured: Record<string, Spread | null> };
  medianStepSeconds: Spread | null; finalTrainLoss: Spread | null; bestEvalLoss: Spread | null;
  runs: { seed: number; dir: string; steps: number; finalTrainLoss: number; bestEvalLoss: number }[];
}

/** A shown number and the half-unit of its last digit (what rounding to the digits shown may change). */
function shown(s: string): { value: number; tol: number } {
  const m = /^(-?\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(s.trim());
  if (!m) throw new Error(`not a number: '${s}'`);
  const decimals = (m[2]?.length ?? 0) - Number(m[3] ?? 0);
  return { value: Number(s), tol: 0.5 * 10 ** -decimals * (1 + 1e-9) };
}

function expectShown(cell: string, value: number) {
  const s = shown(cell);
  expect(Math.abs(s.value - value), `${cell} vs ${value}`).toBeLessThanOrEqual(s.tol);
}

function expectSpread(cell: string, sp: Spread | null, scale = 1) {
  if (sp === null) return expect(cell).toBe('-');
  const [mean, sd] = cell.split('±').map((x) => x.trim());
  expectShown(mean, sp.mean / scale);
  expectShown(sd, sp.sd / scale);
}

/** The results table's rows (cells as text) from report.md. */
function mdRows(md: string): string[][] {
  const section = md.slice(md.indexOf('## Results'), md.indexOf('## Memory by category'));
  return section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| method') && !l.startsWith('| ---')).map((l) => l.slice(2, -2).split(' | '));
}

const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** The results table's rows from report.html. */
function htmlRows(html: string): string[][] {
  const table = /<table id="results">([\s\S]*?)<\/table>/.exec(html)![1];
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)![1];
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => [...r[1].matchAll(/<td>([\s\S]*?)<\/td>/g)].map((c) => unescape(c[1])));
}

const MiB = 2 ** 20;

describe('lisa compare', () => {
  let t: TinyCompare;
  let run: CliRun;
  let results: { methods: MethodJson[]; seeds: number[]; claims: { id: string; held: boolean | null; sentence: string }[] };

  beforeAll(async () => {
    t = writeTinyCompare();
    run = await runCompareCli([t.configPath]);
    if (run.code === 0) results = JSON.parse(readFileSync(join(t.out, 'results.json'), 'utf8'));
  }, 240_000);

  afterAll(() => { if (t) rmSync(t.root, { recursive: true, force: true }); });

  it('runs every method over every seed and writes the outputs', () => {
    expect(run.code, run.err).toBe(0);
    for (const f of ['results.json', 'report.md', 'report.html', 'plan.json']) expect(existsSync(join(t.out, f)), f).toBe(true);
    for (const p of ['train-loss', 'eval-loss', 'memory', 'norms']) {
      expect(readFileSync(join(t.out, 'plots', `${p}.svg`), 'utf8').startsWith('<svg')).toBe(true);
      expect(readFileSync(join(t.out, 'plots', `${p}.png`)).subarray(1, 4).toString()).toBe('PNG');
    }
    expect(results.seeds).toEqual([1, 2]);
    expect(results.methods.map((m) => m.name)).toEqual(['full', 'lora', 'lisa', 'lisa-weighted']);
    for (const m of results.methods) {
      expect(m.runs.map((r) => r.seed)).toEqual([1, 2]);
      for (const r of m.runs) {
        expect(r.steps).toBe(12);
        for (const f of ['metrics.jsonl', 'eval.jsonl', 'report.html', 'compare-run.json']) expect(existsSync(join(r.dir, f)), `${r.dir}/${f}`).toBe(true);
        // The run's numbers are its logs' numbers.
        const steps = readFileSync(join(r.dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number });
        const evals = readFileSync(join(r.dir, 'eval.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number });
        expect(r.finalTrainLoss).toBe(steps[steps.length - 1].loss);
        expect(r.bestEvalLoss).toBe(Math.min(...evals.map((e) => e.loss)));
      }
      const losses = m.runs.map((r) => r.finalTrainLoss);
      expect(m.finalTrainLoss!.mean).toBeCloseTo((losses[0] + losses[1]) / 2, 12);
      expect(m.finalTrainLoss!.sd).toBeCloseTo(Math.abs(losses[0] - losses[1]) / Math.SQRT2, 12);
    }
  });

  it('counts trainable parameters exactly', () => {
    // hidden 32, 4 blocks, vocab 256, untied: embed 8192, head 8192, final norm 32; a block: 4 attention
    // projections 32x32, MLP 3 x 32x64, two norms of 32.
    const block = 4 * 32 * 32 + 3 * 32 * 64 + 2 * 32;
    const byName = Object.fromEntries(results.methods.map((m) => [m.name, m.trainableParams]));
    expect(byName.full).toBe(8192 * 2 + 32 + 4 * block);
    expect(byName.lisa).toBe(8192 * 2 + 32 + 2 * block);
    expect(byName['lisa-weighted']).toBe(byName.lisa);
    // LoRA r=8 on the 7 linear layers of each block: A (8, in) and B (out, 8).
    const lora = 4 * (4 * 8 * (32 + 32) + 2 * 8 * (32 + 64) + 8 * (64 + 32));
    expect(byName.lora).toBe(lora);
  });

  it('shows the numbers of results.json in report.md and report.html', () => {
    const md = readFileSync(join(t.out, 'report.md'), 'utf8');
    const html = readFileSync(join(t.out, 'report.html'), 'utf8');
    for (const rows of [mdRows(md), htmlRows(html)]) {
      expect(rows.map((r) => r[0])).toEqual(results.methods.map((m) => m.name));
      for (const [i, m] of results.methods.entries()) {
        const r = rows[i];
        expect(Number(r[1])).toBe(m.trainableParams);
        expectShown(r[2], m.memory.estimate.peakTogether / MiB);
        expectSpread(r[3], m.memory.measured.total, MiB);
        expectSpread(r[4], m.medianStepSeconds);
        expectSpread(r[5], m.finalTrainLoss);
        expectSpread(r[6], m.bestEvalLoss);
      }
    }
    for (const c of results.claims) {
      expect(md).toContain(c.sentence);
      expect(html).toContain(c.sentence.replace(/&/g, '&amp;').replace(/'/g, '&#39;'));
    }
  });

  it('measures memory equal to the estimate on the same shapes (the engine\'s own accounting)', () => {
    for (const m of results.methods) {
      for (const c of ['gradients', 'optimizer']) expect(m.memory.measured[c]!.mean, `${m.name} ${c}`).toBe(m.memory.estimate[c]);
      expect(m.memory.measured.total!.mean, m.name).toBeLessThanOrEqual(m.memory.estimate.peakTogether);
    }
  });

  it('writes a self-contained page with one inline SVG per chart', () => {
    const html = readFileSync(join(t.out, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script\b/i);
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
    for (const id of ['train-loss', 'eval-loss', 'memory', 'norms']) expect(html).toMatch(new RegExp(`<figure id="${id}" class="chart">\\s*<svg`));
    // (b) and (c) are judged from the numbers; (a) needs norms.
    expect(results.claims.map((c) => c.id)).toEqual(['a', 'b', 'c']);
    const [lisa, lora] = ['lisa', 'lora'].map((n) => results.methods.find((m) => m.name === n)!);
    expect(results.claims[1].held).toBe(lisa.bestEvalLoss!.mean < lora.bestEvalLoss!.mean);
    expect(results.claims[2].held).toBe(lisa.memory.measured.total!.mean <= lora.memory.measured.total!.mean);
  });

  it('samples weighted LISA from the same seed\'s LoRA block update norms, and judges (a) from the LoRA norms', () => {
    const norms = (results as unknown as { norms: { runs: { run: string; method: string; layers: { layer: string; updateNorm: number }[] }[] } }).norms;
    expect(norms.runs.map((r) => r.run)).toEqual(['full seed 1', 'lora seed 1', 'lisa seed 1', 'lisa-weighted seed 1', 'lora seed 2']);
    for (const seed of [1, 2]) {
      const profile = JSON.parse(readFileSync(join(t.out, 'runs', 'lisa-weighted', `seed-${seed}`, 'profile.json'), 'utf8')) as { norms: number[]; probabilities: number[] };
      const lora = norms.runs.find((r) => r.run === `lora seed ${seed}`)!;
      const blocks = lora.layers.filter((l) => l.layer.startsWith('block.')).map((l) => l.updateNorm);
      expect(blocks).toHaveLength(4);
      expect(profile.norms).toEqual(blocks);
      const total = blocks.reduce((a, b) => a + b, 0);
      profile.probabilities.forEach((p, i) => expect(p).toBeCloseTo(blocks[i] / total, 12));
    }
    // LoRA on the linear layers leaves the embedding and head untouched: their update norm is 0.
    for (const r of norms.runs.filter((x) => x.method === 'lora')) {
      expect(r.layers.find((l) => l.layer === 'embed')!.updateNorm).toBe(0);
      expect(r.layers.find((l) => l.layer === 'head')!.updateNorm).toBe(0);
    }
    expect(results.claims[0].held).not.toBeNull();
    expect(results.claims[0].sentence).toMatch(/^\(a\) (Held|Did not hold) here .*update norm ratio of 0\.00x/);
  });

  it('keeps finished runs when run again', async () => {
    const again = await runCompareCli([t.configPath, '--methods', 'lora']);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/\[1\/2\] lora seed 1: finished earlier, kept/);
    expect(again.out).toMatch(/\[2\/2\] lora seed 2: finished earlier, kept/);
  }, 120_000);
});
