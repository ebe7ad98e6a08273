// `lisa norms` as a user meets it: --json prints exactly {"runs": [{run, method, layers: [{layer, meanWeightNorm,
// updateNorm, adapterNorm}]}]}; the table run writes norms.svg (one bar per layer per run in each panel) and
// norms.png; --profile writes the block probabilities that a LISA weighted-sampling run then follows, with exact
// draws for a fixed seed (a reference computation of the sampler's algorithm) and frequencies that match the
// probabilities; a profile measured on another block count is refused naming the file.
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDirs } from '../cli-helpers.js';
import { GPT2, LLAMA, baseWeights, matrix, withDeltas, writeFinalRun, writeLoraRun, writeModelFolder } from '../analysis/norm-fixtures.js';
import { writeFixtureRun as writeRun, readMetrics } from '../train/fixture-run.js';
import { LisaSampler } from '../../src/finetune/lisa-sampler.js';
import { Rng } from '../../src/util/rng.js';

const tmp = tempDirs('lisa-cli-norms');
const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));
const writeFixtureRun = (o: Record<string, unknown> = {}) => {
  const r = writeRun(o);
  roots.push(r.root);
  return r;
};

/** A base (3 blocks), a full run with known deltas and a LoRA run with known adapters. */
function setup(): { base: string; full: string; lora: string; root: string } {
  const root = tmp();
  const w = baseWeights(LLAMA);
  const base = writeModelFolder(join(root, 'base'), LLAMA, w);
  const full = writeFinalRun(join(root, 'full-run'), LLAMA, withDeltas(w, { 'model.embed_tokens.weight': [[0, 3], [1, 4]] }), 'full');
  const lora = writeLoraRun(join(root, 'lora-run'), 2, 4, {
    'model.layers.0.self_attn.q_proj': { a: matrix(2, 16, [[0, 0, 1], [1, 1, 1]]), b: matrix(16, 2, [[0, 0, 3], [1, 1, 4]]) }, // 10
    'model.layers.2.mlp.down_proj': { a: matrix(2, 24, [[0, 0, 1]]), b: matrix(16, 2, [[3, 0, 15]]) }, // 30
  });
  return { base, full, lora, root };
}

/** The sampler's algorithm written out: gamma sequential draws, each proportional to the weights not yet drawn. */
function referenceDraws(probs: number[], gamma: number, seed: number, times: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: times }, () => {
    const w = [...probs];
    const picked: number[] = [];
    for (let j = 0; j < gamma; j++) {
      let u = rng.uniform() * w.reduce((a, b) => a + b, 0);
      let k = 0;
      for (let i = 0; i < w.length; i++) {
        if (w[i] <= 0) continue;
        k = i;
        u -= w[i];
        if (u < 0) break;
      }
      picked.push(k);
      w[k] = 0;
    }
    return picked.sort((a, b) => a - b);
  });
}

describe('lisa norms', () => {
  it('--json prints exactly the documented shape', async () => {
    const s = setup();
    const r = await runCli(['norms', '--base', s.base, '--runs', s.full, s.lora, '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual(['runs']);
    expect(j.runs.map((x: object) => Object.keys(x))).toEqual([['run', 'method', 'layers'], ['run', 'method', 'layers']]);
    expect(j.runs.map((x: { run: string; method: string }) => [x.run, x.method])).toEqual([['full-run', 'full'], ['lora-run', 'lora']]);
    for (const run of j.runs) {
      expect(run.layers.map((l: { layer: string }) => l.layer)).toEqual(['embed', 'block.0', 'block.1', 'block.2', 'finalNorm', 'head']);
      for (const l of run.layers) {
        expect(Object.keys(l)).toEqual(['layer', 'meanWeightNorm', 'updateNorm', 'adapterNorm']);
        expect(typeof l.meanWeightNorm).toBe('number');
        expect(typeof l.updateNorm).toBe('number');
        expect(l.adapterNorm === null || typeof l.adapterNorm === 'number').toBe(true);
      }
    }
    expect(j.runs[0].layers.map((l: { updateNorm: number }) => l.updateNorm)).toEqual([5, 0, 0, 0, 0, 0]);
    expect(j.runs[1].layers.map((l: { updateNorm: number }) => l.updateNorm)).toEqual([0, 10, 0, 30, 0, 0]);
    expect(j.runs[1].layers.map((l: { adapterNorm: number | null }) => l.adapterNorm)).toEqual([null, Math.sqrt(27), null, Math.sqrt(226), null, null]);
  });

  it('prints a table and verdicts and writes norms.svg with one bar per layer per run, and norms.png', async () => {
    const s = setup();
    const out = join(s.root, 'charts');
    const r = await runCli(['norms', '--base', s.base, '--runs', s.full, s.lora, '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/lora-run \(lora\)\n\s+layer\s+w\(l\)\s+update\s+adapter\n\s+embed/);
    // Only the full run moved the embedding; the LoRA run's (large) adapters and updates are in the blocks.
    expect(r.out).toMatch(/full-run \(full\): the skew toward embed\/head is real: .*update norm inf,/);
    expect(r.out).toMatch(/lora-run \(lora\): no skew toward embed\/head at a 2x threshold \(.*update norm 0\.00x, .*block adapters 0\.331x\)/);
    const svg = readFileSync(join(out, 'norms.svg'), 'utf8');
    const bars = [...svg.matchAll(/<[^>]*aria-roledescription="bar"[^>]*>/g)].map((m) => /aria-label="([^"]*)"/.exec(m[0])![1]);
    // Panels: mean weight norm and update norm (6 layers x 2 runs each), adapter norm (the 2 adapted layers).
    expect(bars.length).toBe(6 * 2 + 6 * 2 + 2);
    for (const layer of ['embed', 'block.0', 'block.1', 'block.2', 'finalNorm', 'head']) {
      for (const run of ['full-run (full)', 'lora-run (lora)']) {
        expect(bars.filter((b) => b.includes(`run: ${run};`) && b.startsWith(`layer: ${layer};`)).length, `${run} ${layer}`)
          .toBe(run.startsWith('lora') && (layer === 'block.0' || layer === 'block.2') ? 3 : 2); // + the adapter panel
      }
    }
    expect(bars).toContain('layer: block.2; Frobenius norm: 30; run: lora-run (lora); norm: 30.00');
    const png = readFileSync(join(out, 'norms.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('--profile gives block probabilities proportional to the update norms; a LISA run samples by them', async () => {
    // The fixture run's model has 4 blocks: a LoRA adapter on each block's q_proj with ||scale B A|| = 2, 4, 6, 8.
    const fx = writeFixtureRun();
    const model = join(fx.root, 'model');
    const lora = writeLoraRun(join(fx.root, 'lora'), 1, 2, Object.fromEntries([0, 1, 2, 3].map((b) => [
      `model.layers.${b}.self_attn.q_proj`, { a: matrix(1, 16, [[0, b, 1]]), b: matrix(16, 1, [[b, 0, b + 1]]) },
    ])));
    const profile = join(fx.root, 'profile.json');
    const r = await runCli(['norms', '--base', model, '--runs', lora, '--profile', profile, '--json']);
    expect(r.code, r.err).toBe(0);
    const p = JSON.parse(readFileSync(profile, 'utf8'));
    expect(p).toMatchObject({ format: 'lisa-norms-profile', version: 1, run: 'lora', method: 'lora', statistic: 'updateNorm', numBlocks: 4, norms: [2, 4, 6, 8] });
    expect(p.probabilities).toEqual([0.1, 0.2, 0.3, 0.4]);

    // A LISA run with weighted sampling from the profile: gamma 2, resampled at every step, seed 7.
    const cfg = JSON.parse(readFileSync(fx.configPath, 'utf8'));
    cfg.method = { kind: 'lisa', gamma: 2, period: 1, sampling: 'weighted', profile, seed: 7 };
    cfg.train.steps = 12;
    writeFileSync(fx.configPath, JSON.stringify(cfg));
    const t = await runCli(['train', fx.configPath]);
    expect(t.code, t.err).toBe(0);
    const active = readMetrics(fx.out).map((m) => m.activeLayers);
    const want = referenceDraws([0.1, 0.2, 0.3, 0.4], 2, 7, 12);
    expect(active).toEqual(want);
    const counts = [0, 1, 2, 3].map((b) => want.flat().filter((x) => x === b).length);
    expect(active.flat().length).toBe(24);
    expect([0, 1, 2, 3].map((b) => active.flat().filter((x) => x === b).length)).toEqual(counts);

    // Frequencies follow the probabilities: gamma 1 draws block i with p_i; gamma 2 includes block i with
    // p_i + sum_{j != i} p_j p_i / (1 - p_j) (two draws without replacement).
    const probs = [0.1, 0.2, 0.3, 0.4];
    const n = 20000;
    for (const gamma of [1, 2]) {
      const sampler = new LisaSampler({ numBlocks: 4, gamma, sampling: 'weighted', profile, seed: 3 });
      const hits = [0, 0, 0, 0];
      for (let i = 0; i < n; i++) for (const b of sampler.next()) hits[b]++;
      probs.forEach((pi, i) => {
        const incl = gamma === 1 ? pi : pi + probs.reduce((s, pj, j) => (j === i ? s : s + (pj * pi) / (1 - pj)), 0);
        expect(Math.abs(hits[i] / n - incl), `gamma ${gamma} block ${i}`).toBeLessThan(4 * Math.sqrt((incl * (1 - incl)) / n));
      });
    }
  });

  it('a profile measured on another number of blocks is refused, naming the file', async () => {
    const s = setup();
    const profile = join(s.root, 'p3.json');
    expect((await runCli(['norms', '--base', s.base, '--runs', s.lora, '--profile', profile, '--json'])).code).toBe(0);
    const fx = writeFixtureRun({ method: { kind: 'lisa', gamma: 1, period: 1, sampling: 'weighted', profile } });
    const t = await runCli(['train', fx.configPath]);
    expect(t.code).toBe(1);
    expect(t.err).toContain(`profile ${profile} was measured on a model with 3 blocks, but this model has 4`);
  });

  it('--base takes a hub id, resolved from the HF cache (offline here); an unknown id is an error naming it', async () => {
    const s = setup();
    const cache = join(s.root, 'hf', 'hub');
    const commit = 'a'.repeat(40);
    mkdirSync(join(cache, 'models--org--tiny', 'refs'), { recursive: true });
    writeFileSync(join(cache, 'models--org--tiny', 'refs', 'main'), commit);
    cpSync(s.base, join(cache, 'models--org--tiny', 'snapshots', commit), { recursive: true });
    const saved = { ...process.env };
    Object.assign(process.env, { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' });
    try {
      const byId = await runCli(['norms', '--base', 'org/tiny', '--runs', s.full, '--json']);
      const byDir = await runCli(['norms', '--base', s.base, '--runs', s.full, '--json']);
      expect(byId.code, byId.err).toBe(0);
      expect(byId.out).toBe(byDir.out);
      const missing = await runCli(['norms', '--base', 'org/missing', '--runs', s.full, '--json']);
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/org\/missing .*not in the cache/);
    } finally {
      process.env = saved;
    }
  });

  it('GPT-2 with a tied head: no head row, the table says it is tied', async () => {
    const root = tmp();
    const w = baseWeights(GPT2);
    const base = writeModelFolder(join(root, 'base'), GPT2, w);
    const run = writeFinalRun(join(root, 'run'), GPT2, w, 'lisa');
    const r = await runCli(['norms', '--base', base, '--runs', run, '--out', root]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('run (lisa)  [head tied to embed: counted once, under embed]');
    expect(existsSync(join(root, 'norms.png'))).toBe(true);
  });
});
