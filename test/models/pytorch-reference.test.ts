// Whole models against PyTorch: tiny random HF checkpoints (GPT-2 tied; Llama GQA untied; Qwen2 biases, tied,
// rope_theta 1e6) give the reference logits, loss and every parameter gradient (scripts/gen_model_fixtures.py).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, DType } from '../../src/backends/backend.js';
import { cpuJs } from '../../src/backends/cpu-js/index.js';
import { loadModel, lmLoss } from '../../src/models/index.js';
import { backward } from '../../src/autograd/backward.js';
import { crossEntropy } from '../../src/ops/index.js';
import { scope } from '../../src/tensor/scope.js';
import { BACKENDS } from '../backends-under-test.js';
import { repoRoot } from '../helpers.js';

const FAMILIES = ['gpt2', 'llama', 'qwen2'] as const;

/** 'fused': the training path, lmLoss (chunked LM head + cross-entropy, 3 rows per chunk) with gradient
 *  checkpointing; logits are then not materialised, so only the loss and gradients are compared. */
function check(family: string, backend: Backend, dtype: DType, tol: { logits: number; loss: number; grad: number; gradAtol: number },
  mode: 'forward' | 'fused' = 'forward') {
  const dir = join(repoRoot, 'test/fixtures/models', family);
  const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
  const { model } = loadModel(dir, { backend, dtype });
  model.gradientCheckpointing = mode === 'fused';
  const { logits, loss } = mode === 'fused' ? scope(() => {
    const l = lmLoss(model, Int32Array.from(ref.ids), Int32Array.from(ref.targets), ref.B, ref.T, { chunkRows: 3 });
    backward(l);
    return { logits: [] as number[], loss: l.item() };
  }) : scope(() => {
    const lg = model.forward(Int32Array.from(ref.ids), ref.B, ref.T);
    const l = crossEntropy(lg, Int32Array.from(ref.targets));
    backward(l);
    return { logits: lg.toArray(), loss: l.item() };
  });
  logits.forEach((v: number, i: number) => expect(Math.abs(v - ref.logits[i])).toBeLessThan(tol.logits));
  expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(tol.loss);
  const names = model.namedParameters().map(([n]) => n);
  expect(names.sort()).toEqual(Object.keys(ref.grads).sort());
  for (const [name, p] of model.namedParameters()) {
    const g = p.grad!.toArray();
    const want: number[] = ref.grads[name];
    const scale = Math.max(...want.map(Math.abs));
    g.forEach((v, i) => {
      if (Math.abs(v - want[i]) > tol.gradAtol * scale + tol.grad * Math.abs(want[i])) {
        throw new Error(`${family} ${name}[${i}]: ${v} vs ${want[i]}`);
      }
    });
  }
  model.dispose();
}

describe('models match PyTorch', () => {
  it.each(FAMILIES)('%s in float64 on cpu-js: logits, loss and every gradient to 1e-9', (family) => {
    check(family, cpuJs, 'float64', { logits: 1e-9, loss: 1e-10, grad: 1e-7, gradAtol: 1e-9 });
  });
  describe.each(BACKENDS)('on %s (float32)', (_n, backend) => {
    // fp32 rounding over two blocks: logits atol 1e-4, loss rtol 1e-4, gradients rtol 1e-4 with an absolute
    // floor of 1e-5 of the tensor's largest gradient (entries near zero carry only rounding noise).
    it.each(FAMILIES)('%s: logits atol 1e-4, loss and gradients rtol 1e-4', (family) => {
      check(family, backend, 'float32', { logits: 1e-4, loss: 1e-4, grad: 1e-4, gradAtol: 1e-5 });
    });
    it.each(FAMILIES)('%s via lmLoss (chunked head) with gradient checkpointing: loss and gradients rtol 1e-4', (family) => {
      check(family, backend, 'float32', { logits: 1e-4, loss: 1e-4, grad: 1e-4, gradAtol: 1e-5 }, 'fused');
    });
  });
  it.each(FAMILIES)('%s via lmLoss (chunked head) with gradient checkpointing, float64 on cpu-js: loss and every gradient to 1e-9', (family) => {
    check(family, cpuJs, 'float64', { logits: 1e-9, loss: 1e-10, grad: 1e-7, gradAtol: 1e-9 }, 'fused');
  });
});
