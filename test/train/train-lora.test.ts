// A LoRA run exports a PEFT adapter; `lisa export --merge` writes a model whose outputs equal the
// adapter-applied base.
import { describe, it, expect } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../cli-helpers.js';
import { loadModel, type CausalLM } from '../../src/models/index.js';
import { loadLoraAdapter } from '../../src/finetune/lora-io.js';
import { noGrad } from '../../src/autograd/tape.js';
import { scope } from '../../src/tensor/scope.js';
import { writeFixtureRun, readMetrics } from './fixture-run.js';

const quiet = async (args: string[]) => (await runCli(args)).code;
const logits = (m: CausalLM) => noGrad(() => scope(() => m.forward(Int32Array.from([1, 5, 9, 3, 7, 2]), 1, 6).toArray()));

describe('lisa train with LoRA, then lisa export --merge', () => {
  it('trains only the adapter, exports PEFT files, and the merged model equals the adapter-applied base', async () => {
    const r = writeFixtureRun({ method: { kind: 'lora', rank: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'down_proj'] }, optim: { lr: 0.02 } });
    expect(await quiet(['train', r.configPath])).toBe(0);
    const losses = readMetrics(r.out).map((m) => m.loss);
    expect(losses).toHaveLength(8);
    const adapterDir = join(r.out, 'adapter');
    expect(readdirSync(adapterDir).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const modelDir = join(r.root, 'model');
    const base = loadModel(modelDir).model;
    const baseLogits = logits(base);
    loadLoraAdapter(adapterDir, base);
    const adapted = logits(base);
    expect(adapted).not.toEqual(baseLogits);
    const mergedDir = join(r.root, 'merged');
    expect(await quiet(['export', '--model', modelDir, '--adapter', adapterDir, '--merge', '--out', mergedDir])).toBe(0);
    const merged = loadModel(mergedDir).model;
    expect(merged.namedParameters().some(([n]) => n.includes('lora'))).toBe(false);
    logits(merged).forEach((v, i) => expect(Math.abs(v - adapted[i])).toBeLessThan(1e-4));
  });
});
