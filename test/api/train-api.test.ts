// The public API in process: train() with a model and examples built in code gives bit-for-bit the run that
// the config path (model.init + a pre-tokenized data file, as `lisa train` reads them) gives; an AbortSignal
// stops after the current step with a checkpoint; bad options are typed errors; createMethod is the one factory.
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDirs } from '../cli-helpers.js';
import {
  AdamW, ConfigError, createMethod, createModel, FullFineTune, Lisa, LoraFineTune, train,
  type Example, type StepMetrics,
} from '../../src/index.js';

const tempDir = tempDirs('lisa-api');

const HF = {
  model_type: 'llama', vocab_size: 48, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 3,
  num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 32, tie_word_embeddings: false,
};

const examples: Example[] = Array.from({ length: 24 }, (_, k) => {
  const ids = Array.from({ length: 8 + (k % 5) }, (_, t) => (5 * k + 2 * t) % 48);
  return { ids, labels: ids };
});

const readMetrics = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as StepMetrics);

describe('train() from code', () => {
  it('a model and examples given in code train exactly as model.init and a data file do', async () => {
    const dir = tempDir();
    const data = join(dir, 'data.jsonl');
    writeFileSync(data, examples.map((e) => JSON.stringify({ input_ids: e.ids })).join('\n'));
    const common = { method: { kind: 'lisa' as const, gamma: 1, period: 2 }, optim: { lr: 1e-2 }, train: { steps: 4, batchSize: 3, seed: 5 } };
    const fromConfig = await train({ ...common, model: { init: HF }, data: { path: data, format: 'pretokenized', maxLength: 32 }, out: join(dir, 'config') });
    const seen: StepMetrics[] = [];
    const model = createModel(HF, { seed: 5 });
    const fromCode = await train({ ...common, out: join(dir, 'code') }, { model, examples: { train: examples }, onStep: (m) => seen.push(m) });
    const a = readMetrics(join(dir, 'config'));
    const b = readMetrics(join(dir, 'code'));
    expect(b.map((m) => m.loss)).toEqual(a.map((m) => m.loss));
    expect(b.map((m) => m.activeLayers)).toEqual(a.map((m) => m.activeLayers));
    expect(seen.map((m) => m.loss)).toEqual(b.map((m) => m.loss));
    expect(fromCode).toMatchObject({ steps: 4, stopped: 'done', lastLoss: fromConfig.lastLoss, evalLoss: fromConfig.evalLoss });
    // The caller's model stays usable: train() does not dispose what it was given.
    expect(model.parameters().every((p) => !p.isDisposed)).toBe(true);
  });

  it('an AbortSignal stops the run after the current step and saves a checkpoint', async () => {
    const out = join(tempDir(), 'run');
    const controller = new AbortController();
    const r = await train({ method: { kind: 'full' }, train: { steps: 20, batchSize: 2, saveEvery: 0 }, out },
      { model: createModel(HF), examples: { train: examples }, signal: controller.signal, onStep: (m) => { if (m.step === 2) controller.abort(); } });
    expect(r).toMatchObject({ steps: 2, stopped: 'interrupted' });
    expect(JSON.parse(readFileSync(join(out, 'checkpoint', 'state.json'), 'utf8')).step).toBe(2);
    expect(readMetrics(out)).toHaveLength(2);
  });

  it('a config without a model (and none given) is a ConfigError naming the key', async () => {
    await expect(train({ data: { path: 'x.jsonl' }, out: join(tempDir(), 'run') })).rejects.toThrow(ConfigError);
    await expect(train({ data: { path: 'x.jsonl' }, out: join(tempDir(), 'run') })).rejects.toThrow(/'model'/);
  });
});

describe('createMethod', () => {
  it('builds each method kind and applies it to the model', () => {
    const model = createModel(HF);
    const opt = new AdamW({ lr: 1e-3 });
    expect(createMethod(model, { kind: 'full' }, opt)).toBeInstanceOf(FullFineTune);
    expect(model.parameters().every((p) => p.requiresGrad)).toBe(true);
    const lisa = createMethod(model, { kind: 'lisa', gamma: 1, period: 1, seed: 3 }, opt);
    expect(lisa).toBeInstanceOf(Lisa);
    lisa.beginStep(0);
    expect(model.blocks.filter((b) => b.parameters().some((p) => p.requiresGrad))).toHaveLength(1);
    const lora = createMethod(createModel(HF), { kind: 'lora', rank: 2, alpha: 4, targets: ['q_proj', 'v_proj'] }, opt);
    expect(lora).toBeInstanceOf(LoraFineTune);
    expect(lora.trainableParameters()).toHaveLength(3 * 2 * 2);
  });
});
