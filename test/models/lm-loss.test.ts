// lmLoss (the trainer's loss: hidden states through the fused chunked head) equals crossEntropy(model.forward())
// with every gradient, tied and untied heads; a LoRA-wrapped lm_head falls back to the unfused logits, and the
// adapter is applied there.
import { describe, it, expect } from 'vitest';
import { createModel, initWeights, lmLoss, parseConfig, type CausalLM } from '../../src/models/index.js';
import { crossEntropy } from '../../src/ops/index.js';
import { backward } from '../../src/autograd/backward.js';
import { scope } from '../../src/tensor/scope.js';
import { LoraFineTune } from '../../src/finetune/lora.js';
import { Rng } from '../../src/util/rng.js';
import { BACKENDS } from '../backends-under-test.js';

const GPT2 = { model_type: 'gpt2', vocab_size: 67, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 };
const LLAMA = {
  model_type: 'llama', vocab_size: 71, hidden_size: 16, intermediate_size: 40, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32,
};
const B = 2;
const T = 7;

function lossAndGrads(model: CausalLM, fused: boolean, reduction: 'mean' | 'sum') {
  const rng = new Rng(4);
  const V = model.config.vocabSize;
  const ids = Int32Array.from({ length: B * T }, () => rng.int(V));
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 4 === 0 ? -100 : rng.int(V)));
  const loss = scope(() => {
    const l = fused ? lmLoss(model, ids, targets, B, T, { reduction, chunkRows: 5 })
      : crossEntropy(model.forward(ids, B, T), targets, { reduction });
    backward(l);
    return l.item();
  });
  const grads = new Map(model.namedParameters().filter(([, p]) => p.grad).map(([n, p]) => [n, p.grad!.toArray()]));
  for (const p of model.parameters()) p.zeroGrad();
  return { loss, grads };
}

describe.each(BACKENDS)('lmLoss on %s', (_n, backend) => {
  const build = (raw: object) => {
    const m = createModel(parseConfig(raw), { backend });
    initWeights(m, new Rng(1), 0.3);
    return m;
  };
  it.each([
    ['GPT-2 (tied head)', GPT2, 'mean'], ['Llama (untied head)', LLAMA, 'sum'], ['Llama (tied head)', { ...LLAMA, tie_word_embeddings: true }, 'mean'],
  ] as const)('%s: equals crossEntropy(forward) with every gradient (float32 tolerance)', (_m, raw, reduction) => {
    const model = build(raw);
    const a = lossAndGrads(model, true, reduction);
    const e = lossAndGrads(model, false, reduction);
    expect(Math.abs(a.loss - e.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(e.loss));
    expect([...a.grads.keys()]).toEqual([...e.grads.keys()]);
    for (const [n, g] of e.grads) {
      const got = a.grads.get(n)!;
      const scale = Math.max(...g.map(Math.abs));
      g.forEach((v, i) => expect(Math.abs(got[i] - v), `${n}[${i}]`).toBeLessThanOrEqual(1e-5 * scale + 1e-4 * Math.abs(v)));
    }
  });

  it('a LoRA adapter on lm_head: no plain head, the unfused path (bit-identical), and the adapter trains', () => {
    const model = build(LLAMA);
    expect(model.plainHead()).not.toBeNull();
    const lora = new LoraFineTune(model, { rank: 2, alpha: 4, targets: ['lm_head', 'q_proj'] });
    for (const p of lora.trainableParameters()) if (p.name?.includes('lora_B')) p.buf.fill(0.1);
    expect(model.plainHead()).toBeNull();
    const a = lossAndGrads(model, true, 'mean');
    const e = lossAndGrads(model, false, 'mean');
    expect(a.loss).toBe(e.loss);
    expect(a.grads).toEqual(e.grads);
    expect(a.grads.has('lm_head.lora_B.weight')).toBe(true);
    expect(a.grads.has('lm_head.lora_A.weight')).toBe(true);
  });
});
