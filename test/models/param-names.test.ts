// Parameter names and order of every model shape (GPT-2 and Llama, tied and untied, biases, LoRA), written out
// from the HF/PEFT layouts: optimizer state, checkpoints and exports depend on both.
import { describe, it, expect } from 'vitest';
import { createModel, parseConfig, type CausalLM } from '../../src/models/index.js';
import { LoraFineTune, type LoraOptions } from '../../src/finetune/lora.js';

const L = 2;
const gpt2 = { model_type: 'gpt2', vocab_size: 40, n_positions: 32, n_embd: 16, n_layer: L, n_head: 2 };
const llama = { model_type: 'llama', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: L,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 };

/** Names of a linear at `path`: weight, bias when it has one, then its LoRA A and B when adapted. */
const linear = (path: string, bias: boolean, lora: boolean) => [`${path}.weight`, ...(bias ? [`${path}.bias`] : []),
  ...(lora ? [`${path}.lora_A.weight`, `${path}.lora_B.weight`] : [])];

function gpt2Names(o: { tied: boolean; lora: string[] }): string[] {
  const lin = (block: string, name: string) => linear(`${block}.${name}`, true, o.lora.includes(name.split('.').pop()!));
  const blocks = Array.from({ length: L }, (_, i) => `transformer.h.${i}`).flatMap((b) => [
    `${b}.ln_1.weight`, `${b}.ln_1.bias`, ...lin(b, 'attn.c_attn'), ...lin(b, 'attn.c_proj'),
    `${b}.ln_2.weight`, `${b}.ln_2.bias`, ...lin(b, 'mlp.c_fc'), ...lin(b, 'mlp.c_proj'),
  ]);
  return ['transformer.wte.weight', 'transformer.wpe.weight', ...blocks, 'transformer.ln_f.weight', 'transformer.ln_f.bias',
    ...(o.tied ? [] : linear('lm_head', false, o.lora.includes('lm_head')))];
}

function llamaNames(o: { tied: boolean; qkvBias: boolean; oBias: boolean; mlpBias: boolean; lora: string[] }): string[] {
  const lin = (b: string, sub: string, name: string, bias: boolean) => linear(`${b}.${sub}.${name}`, bias, o.lora.includes(name));
  const blocks = Array.from({ length: L }, (_, i) => `model.layers.${i}`).flatMap((b) => [
    `${b}.input_layernorm.weight`,
    ...['q_proj', 'k_proj', 'v_proj'].flatMap((n) => lin(b, 'self_attn', n, o.qkvBias)), ...lin(b, 'self_attn', 'o_proj', o.oBias),
    `${b}.post_attention_layernorm.weight`,
    ...['gate_proj', 'up_proj', 'down_proj'].flatMap((n) => lin(b, 'mlp', n, o.mlpBias)),
  ]);
  return ['model.embed_tokens.weight', ...blocks, 'model.norm.weight', ...(o.tied ? [] : linear('lm_head', false, o.lora.includes('lm_head')))];
}

const names = (m: CausalLM) => m.namedParameters().map(([n]) => n);

describe('parameter names and order', () => {
  const cases: [string, Record<string, unknown>, string[], Omit<LoraOptions, 'rank' | 'alpha'> | null][] = [
    ['gpt2 tied', gpt2, gpt2Names({ tied: true, lora: [] }), null],
    ['gpt2 untied', { ...gpt2, tie_word_embeddings: false }, gpt2Names({ tied: false, lora: [] }), null],
    ['gpt2 tied, LoRA all-linear', gpt2, gpt2Names({ tied: true, lora: ['c_attn', 'c_proj', 'c_fc'] }), { targets: 'all-linear' }],
    ['gpt2 untied, LoRA c_attn + lm_head', { ...gpt2, tie_word_embeddings: false },
      gpt2Names({ tied: false, lora: ['c_attn', 'lm_head'] }), { targets: ['c_attn', 'lm_head'] }],
    ['llama untied', llama, llamaNames({ tied: false, qkvBias: false, oBias: false, mlpBias: false, lora: [] }), null],
    ['llama tied', { ...llama, tie_word_embeddings: true },
      llamaNames({ tied: true, qkvBias: false, oBias: false, mlpBias: false, lora: [] }), null],
    ['llama attention + mlp biases', { ...llama, attention_bias: true, mlp_bias: true },
      llamaNames({ tied: false, qkvBias: true, oBias: true, mlpBias: true, lora: [] }), null],
    ['qwen2 (q/k/v bias), tied', { ...llama, model_type: 'qwen2', tie_word_embeddings: true },
      llamaNames({ tied: true, qkvBias: true, oBias: false, mlpBias: false, lora: [] }), null],
    ['llama untied, LoRA q/v', llama, llamaNames({ tied: false, qkvBias: false, oBias: false, mlpBias: false, lora: ['q_proj', 'v_proj'] }),
      { targets: ['q_proj', 'v_proj'] }],
    ['llama untied, LoRA all-linear', llama, llamaNames({ tied: false, qkvBias: false, oBias: false, mlpBias: false,
      lora: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }), { targets: 'all-linear' }],
    ['qwen2 tied, LoRA all-linear', { ...llama, model_type: 'qwen2', tie_word_embeddings: true },
      llamaNames({ tied: true, qkvBias: true, oBias: false, mlpBias: false,
        lora: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }), { targets: 'all-linear' }],
  ];

  it.each(cases)('%s', (_name, cfg, expected, lora) => {
    for (const shapeOnly of [true, false]) {
      const m = createModel(parseConfig(cfg), { shapeOnly });
      const base = names(m);
      const method = lora ? new LoraFineTune(m, { rank: 2, alpha: 4, ...lora }) : null;
      expect(names(m)).toEqual(expected);
      // each parameter carries its own dotted name; namedModules agrees with the parameter names
      for (const [n, p] of m.namedParameters()) expect(p.name).toBe(n);
      const modules = new Set(m.namedModules().map(([n]) => n));
      for (const n of expected) expect(modules.has(n.slice(0, n.lastIndexOf('.')))).toBe(true);
      if (method) {
        expect(method.trainableParameters().map((p) => p.name)).toEqual(expected.filter((n) => /\.lora_[AB]\.weight$/.test(n)));
        method.mergeAndUnload();
        expect(names(m)).toEqual(base);
        for (const [n, p] of m.namedParameters()) expect(p.name).toBe(n);
      }
      m.dispose();
    }
  });

  it('nonBlockParameters: roles with the parameters\' own names; a tied head appears once, as embed', () => {
    const roles = (m: CausalLM) => m.nonBlockParameters().map(({ role, name, param }) => {
      expect(param.name).toBe(name);
      expect(m.getParameter(name)).toBe(param);
      return [role, name];
    });
    expect(roles(createModel(parseConfig(gpt2), { shapeOnly: true }))).toEqual([
      ['embed', 'transformer.wte.weight'], ['posEmbed', 'transformer.wpe.weight'],
      ['finalNorm', 'transformer.ln_f.weight'], ['finalNorm', 'transformer.ln_f.bias'],
    ]);
    expect(roles(createModel(parseConfig({ ...gpt2, tie_word_embeddings: false }), { shapeOnly: true }))).toEqual([
      ['embed', 'transformer.wte.weight'], ['posEmbed', 'transformer.wpe.weight'],
      ['finalNorm', 'transformer.ln_f.weight'], ['finalNorm', 'transformer.ln_f.bias'], ['head', 'lm_head.weight'],
    ]);
    expect(roles(createModel(parseConfig(llama), { shapeOnly: true }))).toEqual([
      ['embed', 'model.embed_tokens.weight'], ['finalNorm', 'model.norm.weight'], ['head', 'lm_head.weight'],
    ]);
    expect(roles(createModel(parseConfig({ ...llama, tie_word_embeddings: true }), { shapeOnly: true }))).toEqual([
      ['embed', 'model.embed_tokens.weight'], ['finalNorm', 'model.norm.weight'],
    ]);
    // LoRA on the head leaves its role on the base weight only
    const m = createModel(parseConfig(llama), { shapeOnly: true });
    new LoraFineTune(m, { rank: 2, alpha: 4, targets: ['lm_head'] });
    expect(roles(m)).toEqual([['embed', 'model.embed_tokens.weight'], ['finalNorm', 'model.norm.weight'], ['head', 'lm_head.weight']]);
  });
});
