// Shape-only models (on the meta backend): exact parameter counts from configs alone, with no weight memory.
import { describe, it, expect } from 'vitest';
import { createModel, parseConfig } from '../../src/models/index.js';
import { memoryReport } from '../../src/tensor/memory.js';
import { GPT2_SMALL, TINYLLAMA_1_1B, LLAMA2_7B, LLAMA31_8B, LLAMA2_70B } from './known-configs.js';

describe('shape-only models', () => {
  it.each([
    ['GPT-2-small', GPT2_SMALL, 124_439_808],
    ['TinyLlama-1.1B', TINYLLAMA_1_1B, 1_100_048_384],
    ['LLaMA-2-7B', LLAMA2_7B, 6_738_415_616],
    ['Llama-3.1-8B', LLAMA31_8B, 8_030_261_248],
    ['LLaMA-2-70B', LLAMA2_70B, 68_976_648_192],
  ])('%s has the exact parameter count; its weights count their logical bytes but hold no memory', (_name, cfg, expected) => {
    const before = memoryReport().live.weights;
    const rss = process.memoryUsage().rss;
    const m = createModel(parseConfig(cfg), { shapeOnly: true });
    expect(m.numParameters()).toBe(expected);
    expect(m.parameters().every((p) => p.isShapeOnly && p.backend.name === 'meta')).toBe(true);
    expect(memoryReport().live.weights - before).toBe(4 * expected);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 2 ** 20);
    m.dispose();
    expect(memoryReport().live.weights).toBe(before);
  });

  it('names parameters as HF does', () => {
    const g = createModel(parseConfig({ ...GPT2_SMALL, n_layer: 1 }), { shapeOnly: true });
    expect(g.namedParameters().map(([n]) => n)).toEqual([
      'transformer.wte.weight', 'transformer.wpe.weight',
      'transformer.h.0.ln_1.weight', 'transformer.h.0.ln_1.bias', 'transformer.h.0.attn.c_attn.weight', 'transformer.h.0.attn.c_attn.bias',
      'transformer.h.0.attn.c_proj.weight', 'transformer.h.0.attn.c_proj.bias', 'transformer.h.0.ln_2.weight', 'transformer.h.0.ln_2.bias',
      'transformer.h.0.mlp.c_fc.weight', 'transformer.h.0.mlp.c_fc.bias', 'transformer.h.0.mlp.c_proj.weight', 'transformer.h.0.mlp.c_proj.bias',
      'transformer.ln_f.weight', 'transformer.ln_f.bias',
    ]);
    expect(g.getParameter('transformer.h.0.attn.c_attn.weight').shape).toEqual([768, 2304]);
    const l = createModel(parseConfig({ ...TINYLLAMA_1_1B, num_hidden_layers: 1 }), { shapeOnly: true });
    expect(l.getParameter('model.layers.0.self_attn.k_proj.weight').shape).toEqual([256, 2048]);
    expect(l.getParameter('lm_head.weight').shape).toEqual([32000, 2048]);
  });
});
