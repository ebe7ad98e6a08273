// lisa norms' statistics on constructed runs with known norms: a full run equal to its base except for known
// deltas gives exactly those update norms and 0 elsewhere; a LoRA adapter with known A and B gives exactly
// ||scale * B @ A|| summed in quadrature; GPT-2's Conv1D layout, position embedding and tied head; the trajectory
// mean; the skew verdict; and errors that name the file.
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeLayerNorms, type RunNorms } from '../../src/analysis/layer-norms.js';
import { skewVerdict } from '../../src/analysis/skew.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { bf16BitsToF32, f32ToBf16Bits } from '../../src/util/bf16.js';
import { tempDirs } from '../cli-helpers.js';
import { GPT2, LLAMA, baseWeights, frob, matrix, withDeltas, writeFinalRun, writeLoraRun, writeModelFolder, type Weights } from './norm-fixtures.js';

const tmp = tempDirs('lisa-norms');
const L = (i: number, rest: string) => `model.layers.${i}.${rest}.weight`;
const LLAMA_BLOCK = ['input_layernorm', 'post_attention_layernorm', 'self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'];
const llamaLayerNames: Record<string, string[]> = {
  embed: ['model.embed_tokens.weight'], 'block.0': LLAMA_BLOCK.map((r) => L(0, r)), 'block.1': LLAMA_BLOCK.map((r) => L(1, r)),
  'block.2': LLAMA_BLOCK.map((r) => L(2, r)), finalNorm: ['model.norm.weight'], head: ['lm_head.weight'],
};
const byLayer = (r: RunNorms) => Object.fromEntries(r.layers.map((l) => [l.layer, l]));

function expectWeightNorms(r: RunNorms, w: Weights, names: Record<string, string[]>): void {
  for (const l of r.layers) expect(l.meanWeightNorm / frob(w, names[l.layer]) - 1, l.layer).toBeCloseTo(0, 12);
}

describe('lisa norms statistics', () => {
  it('a full run equal to its base except for known deltas: exactly those update norms, 0 elsewhere', () => {
    const root = tmp();
    const base = baseWeights(LLAMA);
    writeModelFolder(join(root, 'base'), LLAMA, base);
    const fin = withDeltas(base, {
      'model.embed_tokens.weight': [[0, 3], [5, 4]], // 5
      [L(1, 'self_attn.q_proj')]: [[0, 0.5], [1, 0.5], [2, 0.5], [3, 0.5]], // 1
      [L(1, 'mlp.down_proj')]: [[7, 2]], // with the above: sqrt(5)
      'lm_head.weight': [[10, -12]], // 12
    });
    writeFinalRun(join(root, 'full-run'), LLAMA, fin, 'full');
    writeFinalRun(join(root, 'lisa-run'), LLAMA, fin, 'lisa');
    const report = computeLayerNorms(join(root, 'base'), [join(root, 'full-run'), join(root, 'lisa-run')]);
    expect(report.runs.map((r) => [r.run, r.method])).toEqual([['full-run', 'full'], ['lisa-run', 'lisa']]);
    for (const r of report.runs) {
      expect(r.layers.map((l) => l.layer)).toEqual(['embed', 'block.0', 'block.1', 'block.2', 'finalNorm', 'head']);
      expect(r.layers.map((l) => l.updateNorm)).toEqual([5, 0, Math.sqrt(5), 0, 0, 12]);
      expect(r.layers.every((l) => l.adapterNorm === null)).toBe(true);
      expectWeightNorms(r, fin, llamaLayerNames); // no trajectory: the final norm
    }
  });

  it('a LoRA adapter with known A and B: ||scale * B @ A|| summed in quadrature over the modules of a layer', () => {
    const root = tmp();
    const base = baseWeights(LLAMA, 2);
    writeModelFolder(join(root, 'base'), LLAMA, base);
    // r = 2, alpha = 4: scale 2. q_proj (16, 16): B A has 3 at (0,0) and 4 at (1,1) -> ||2 B A|| = 10.
    // v_proj (8, 16): B A has 2 at (0,2) -> 4. Block 0: sqrt(10^2 + 4^2) = sqrt(116).
    // down_proj of block 2 (16, 24): B A has 1 at (3,0) and (3,5) -> ||2 B A|| = sqrt(8).
    writeLoraRun(join(root, 'lora'), 2, 4, {
      'model.layers.0.self_attn.q_proj': { a: matrix(2, 16, [[0, 0, 1], [1, 1, 1]]), b: matrix(16, 2, [[0, 0, 3], [1, 1, 4]]) },
      'model.layers.0.self_attn.v_proj': { a: matrix(2, 16, [[0, 2, 2]]), b: matrix(8, 2, [[0, 0, 1]]) },
      'model.layers.2.mlp.down_proj': { a: matrix(2, 24, [[0, 0, 1], [1, 5, 1]]), b: matrix(16, 2, [[3, 0, 1], [3, 1, 1]]) },
    });
    const [r] = computeLayerNorms(join(root, 'base'), [join(root, 'lora')]).runs;
    expect(r.method).toBe('lora');
    expect(r.layers.map((l) => l.updateNorm)).toEqual([0, Math.sqrt(116), 0, Math.sqrt(8), 0, 0]);
    // ||A||^2 + ||B||^2 per module: q 2 + 25, v 4 + 1 -> sqrt(32); down 2 + 2 -> 2; no adapter -> null.
    expect(r.layers.map((l) => l.adapterNorm)).toEqual([null, Math.sqrt(32), null, 2, null, null]);
    const merged = withDeltas(base, {
      [L(0, 'self_attn.q_proj')]: [[0, 6], [17, 8]], [L(0, 'self_attn.v_proj')]: [[2, 4]], [L(2, 'mlp.down_proj')]: [[72, 2], [77, 2]],
    });
    expectWeightNorms(r, merged, llamaLayerNames); // the merged weights W + scale B A
  });

  it('a run exported in BF16 is measured against the base rounded to bf16 (its starting point): untouched layers are 0', () => {
    const root = tmp();
    const base = baseWeights(LLAMA);
    for (const t of base.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += 1 / 3000; // not bf16-exact
    writeModelFolder(join(root, 'base'), LLAMA, base);
    const rounded = (x: number) => bf16BitsToF32(f32ToBf16Bits(x));
    const fin = withDeltas(base, {});
    const q = fin.get(L(1, 'self_attn.q_proj'))!.data;
    q[0] = 2; // exact in bf16
    const dir = join(root, 'bf16-run');
    writeFinalRun(dir, LLAMA, fin, 'lisa');
    writeSafetensors(join(dir, 'final', 'model.safetensors'), [...fin].map(([name, t]) => ({ name, shape: t.shape, data: t.data })), { dtype: 'BF16' });
    const [r] = computeLayerNorms(join(root, 'base'), [dir]).runs;
    expect(r.layers.map((l) => l.updateNorm)).toEqual([0, 0, Math.abs(2 - rounded(base.get(L(1, 'self_attn.q_proj'))!.data[0])), 0, 0, 0]);
  });

  it('GPT-2: Conv1D weights are (in, out), the position embedding is in embed and the tied head is counted once', () => {
    const root = tmp();
    const base = baseWeights(GPT2, 3);
    writeModelFolder(join(root, 'base'), GPT2, base);
    const fin = withDeltas(base, { 'transformer.wte.weight': [[0, 3]], 'transformer.wpe.weight': [[3, 4]] });
    writeFinalRun(join(root, 'full'), GPT2, fin, 'full');
    // c_attn: in 8, out 24, stored (8, 24). scale 1; B A has 0.5 at (out 20, in 1), stored at [1][20].
    writeLoraRun(join(root, 'lora'), 2, 2, { 'transformer.h.0.attn.c_attn': { a: matrix(2, 8, [[0, 1, 1]]), b: matrix(24, 2, [[20, 0, 0.5]]) } });
    const [full, lora] = computeLayerNorms(join(root, 'base'), [join(root, 'full'), join(root, 'lora')]).runs;
    expect(full.layers.map((l) => l.layer)).toEqual(['embed', 'block.0', 'block.1', 'finalNorm']);
    expect(full.layers.map((l) => l.updateNorm)).toEqual([5, 0, 0, 0]);
    expect(lora.layers.map((l) => l.updateNorm)).toEqual([0, 0.5, 0, 0]);
    const names = (w: Weights) => ({
      embed: ['transformer.wte.weight', 'transformer.wpe.weight'], finalNorm: ['transformer.ln_f.weight', 'transformer.ln_f.bias'],
      'block.0': [...w.keys()].filter((n) => n.startsWith('transformer.h.0.')), 'block.1': [...w.keys()].filter((n) => n.startsWith('transformer.h.1.')),
    });
    expectWeightNorms(full, fin, names(fin));
    const merged = withDeltas(base, { 'transformer.h.0.attn.c_attn.weight': [[1 * 24 + 20, 0.5]] });
    expectWeightNorms(lora, merged, names(merged));
  });

  it('meanWeightNorm is the mean of the recorded trajectory; a trajectory with other layers is an error naming it', () => {
    const root = tmp();
    const base = baseWeights(LLAMA);
    writeModelFolder(join(root, 'base'), LLAMA, base);
    const run = writeFinalRun(join(root, 'run'), LLAMA, base, 'full');
    const layers = Object.keys(llamaLayerNames);
    const row = (step: number, embed: number) => JSON.stringify({ step, norms: Object.fromEntries(layers.map((l, i) => [l, l === 'embed' ? embed : i + step])) });
    writeFileSync(join(run, 'norms.jsonl'), `${row(0, 1)}\n${row(2, 2)}\n${row(4, 6)}\n`);
    const r = byLayer(computeLayerNorms(join(root, 'base'), [run]).runs[0]);
    expect(r.embed.meanWeightNorm).toBe(3); // (1 + 2 + 6) / 3
    expect(r['block.1'].meanWeightNorm).toBe(2 + 2); // (2 + 4 + 6) / 3
    expect(r.embed.updateNorm).toBe(0);
    writeFileSync(join(run, 'norms.jsonl'), `${row(0, 1)}\n${JSON.stringify({ step: 2, norms: { embed: 1 } })}\n`);
    expect(() => computeLayerNorms(join(root, 'base'), [run])).toThrow(/norms\.jsonl: line 2 has layers \[embed\].*missing or not a number: block\.0/);
  });

  it('bad runs are errors that name the folder, file or tensor', () => {
    const root = tmp();
    const base = baseWeights(LLAMA);
    writeModelFolder(join(root, 'base'), LLAMA, base);
    mkdirSync(join(root, 'empty'));
    expect(() => computeLayerNorms(join(root, 'base'), [join(root, 'empty')])).toThrow(/empty is not a finished lisa train run/);
    writeLoraRun(join(root, 'bad-lora'), 2, 4, { 'model.norm': { a: matrix(2, 16, []), b: matrix(16, 2, []) } });
    expect(() => computeLayerNorms(join(root, 'base'), [join(root, 'bad-lora')])).toThrow(/adapter_model\.safetensors: tensor 'base_model\.model\.model\.norm\.lora_A\.weight' adapts 'model\.norm', which is not a linear layer/);
    const other = { ...LLAMA, intermediate_size: 32 };
    writeFinalRun(join(root, 'other'), other, baseWeights(other), 'full');
    expect(() => computeLayerNorms(join(root, 'base'), [join(root, 'other')])).toThrow(/other\/final\/model\.safetensors: tensor 'model\.layers\.0\.mlp\.gate_proj\.weight' has shape \[32, 16\], but the base .* has \[24, 16\]; was this run trained from another base\?/);
  });
});

describe('skew verdict', () => {
  const run = (method: string, rows: [string, number, number, number | null][]): RunNorms => ({
    run: method, method: method as RunNorms['method'],
    layers: rows.map(([layer, meanWeightNorm, updateNorm, adapterNorm]) => ({ layer, meanWeightNorm, updateNorm, adapterNorm })),
  });
  it('LoRA adapters against whole matrices: artefact; updates on embed/head: real; neither: none', () => {
    const lora = skewVerdict(run('lora', [['embed', 8, 0, null], ['block.0', 4, 0.5, 0.1], ['block.1', 4, 0.3, 0.3], ['finalNorm', 4, 0, null], ['head', 8, 0, null]]));
    expect(lora).toMatchObject({ verdict: 'artefact', weightRatio: 2 - 0, updateRatio: 0, adapterVsMatrixRatio: 8 / 0.2 });
    expect(lora.sentence).toMatch(/artefact of measuring adapters against whole matrices/);
    const full = skewVerdict(run('full', [['embed', 8, 3, null], ['block.0', 4, 1, null], ['block.1', 4, 1, null], ['finalNorm', 4, 0, null], ['head', 8, 1, null]]));
    expect(full).toMatchObject({ verdict: 'real', updateRatio: 2, adapterVsMatrixRatio: null });
    const flat = skewVerdict(run('full', [['embed', 4, 1, null], ['block.0', 4, 1, null], ['finalNorm', 4, 0, null]]));
    expect(flat.verdict).toBe('none');
  });
});
