// state.json as a resume reads it: validated by its schema, a bad value is a CheckpointError naming the field and
// what it must be; a LISA methodState with an active block out of range is refused before anything is unfrozen.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdamW } from '../../src/optim/adamw.js';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { createInitialisedModel } from '../../src/models/create.js';
import { createMethod } from '../../src/finetune/create.js';

const root = mkdtempSync(join(tmpdir(), 'lisa-state-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const HF = {
  model_type: 'llama', vocab_size: 32, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 3,
  num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 16,
};

/** A real LISA checkpoint, then state.json edited by `edit`; returns what loading it throws. */
function loadEdited(edit: (s: Record<string, unknown>) => void): Error {
  const out = mkdtempSync(join(root, 'run-'));
  const model = createInitialisedModel(HF);
  const opt = new AdamW({ lr: 1e-3 });
  const method = createMethod(model, { kind: 'lisa', gamma: 1, period: 2, seed: 1 }, opt);
  method.beginStep(0);
  saveCheckpoint(out, method.checkpointParameters(), opt, {
    version: 1, step: 2, dataCursor: 4, metricsLines: 2, methodState: method.saveState(), rngStates: method.rngStates(),
  });
  const file = join(out, 'checkpoint', 'state.json');
  const state = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(state);
  writeFileSync(file, JSON.stringify(state));
  try {
    loadCheckpoint(join(out, 'checkpoint'), method.checkpointParameters(), opt, method);
  } catch (e) {
    return e as Error;
  } finally {
    opt.dispose();
    model.dispose();
  }
  throw new Error('loading the edited checkpoint did not fail');
}

describe('state.json validation', () => {
  it('an unedited checkpoint loads', () => {
    expect(() => loadEdited(() => {})).toThrow('loading the edited checkpoint did not fail');
  });

  it.each([
    ['step', (s: Record<string, unknown>) => { s.step = -1; }, "'step' must be a non-negative integer, got -1"],
    ['dataCursor', (s: Record<string, unknown>) => { s.dataCursor = 1.5; }, "'dataCursor' must be a non-negative integer, got 1.5"],
    ['metricsLines', (s: Record<string, unknown>) => { delete s.metricsLines; }, "'metricsLines' must be a non-negative integer"],
    ['optimizerSteps', (s: Record<string, unknown>) => { s.optimizerSteps = [1]; }, "'optimizerSteps' must be an object {parameter: step}"],
    ['optimizerSteps entry', (s: Record<string, unknown>) => { s.optimizerSteps = { 'model.norm.weight': 'x' }; }, "'optimizerSteps.model.norm.weight' must be a non-negative integer, got \"x\""],
    ['rngStates', (s: Record<string, unknown>) => { s.rngStates = 3; }, "'rngStates' must be an object, got 3"],
    ['version', (s: Record<string, unknown>) => { s.version = 2; }, 'unknown checkpoint version 2; expected 1'],
  ])('%s: a CheckpointError naming the field', (_, edit, message) => {
    const e = loadEdited(edit);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toContain('state.json');
    expect(e.message).toContain(message);
  });

  it('a LISA active block outside the model is refused', () => {
    const e = loadEdited((s) => { (s.methodState as { active: number[] }).active = [3]; });
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(/methodState.*distinct block indices in \[0, 3\)/);
  });
});
