// A LISA run on the shared Alpaca sample with stories260K converted lowers the eval loss, and its export
// reloads with `lisa generate`.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli-helpers.js';
import { haveSharedData, sharedData } from '../helpers.js';

const cli = runCli;

describe.runIf(haveSharedData())('lisa train on Alpaca with stories260K', () => {
  it('lowers the eval loss, and the export generates', async () => {
    const root = mkdtempSync(join(tmpdir(), 'alpaca-'));
    const model = join(root, 'stories');
    expect((await cli(['convert', 'llama2c', '--checkpoint', join(sharedData, 'models/stories260K/stories260K.bin'),
      '--tokenizer', join(sharedData, 'models/stories260K/tok512.bin'), '--out', model])).code).toBe(0);
    const out = join(root, 'out');
    const config = {
      model,
      data: { path: join(sharedData, 'instruct/alpaca_en_demo.json'), maxLength: 128, limit: 240, evalSplit: 0.1 },
      method: { kind: 'lisa', gamma: 2, period: 5 },
      optim: { lr: 3e-3, schedule: 'cosine', warmupSteps: 2 },
      train: { steps: 30, batchSize: 8, evalEvery: 15, seed: 3 },
      out,
    };
    const cfgPath = join(root, 'config.json');
    writeFileSync(cfgPath, JSON.stringify(config));
    expect((await cli(['train', cfgPath])).code).toBe(0);
    const evals = readFileSync(join(out, 'eval.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(evals.map((e) => e.step)).toEqual([0, 15, 30]);
    expect(evals[2].loss).toBeLessThan(evals[0].loss - 0.05);
    const g = await cli(['generate', '--model', join(out, 'final'), '--prompt', 'Below is an instruction', '--temperature', '0', '--max-new-tokens', '20']);
    expect(g.code).toBe(0);
    expect(g.out.length).toBeGreaterThan('Below is an instruction'.length);
  }, 300_000);
});
