// LoRA: identity at init, merge == unmerged, PEFT file round trip and names, frozen base, counts, errors.
import { memoryReport } from '../../src/tensor/memory.js';
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, parseConfig, initWeights, type CausalLM } from '../../src/models/index.js';
import { noGrad } from '../../src/autograd/tape.js';
import { backward } from '../../src/autograd/backward.js';
import { scope } from '../../src/tensor/scope.js';
import { crossEntropy } from '../../src/ops/index.js';
import { LoraFineTune } from '../../src/finetune/lora.js';
import { saveLoraAdapter, loadLoraAdapter } from '../../src/finetune/lora-io.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { Rng } from '../../src/util/rng.js';
import { GPT2_SMALL } from '../models/known-configs.js';
import { BACKENDS } from '../backends-under-test.js';

const llamaCfg = { model_type: 'llama', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 };
const gpt2Cfg = { model_type: 'gpt2', vocab_size: 40, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 };
const ids = Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 40);

describe.each(BACKENDS)('LoRA on %s', (_n, backend) => {
  const build = (cfg: object, seed = 1): CausalLM => {
    const m = createModel(parseConfig(cfg), { backend });
    initWeights(m, new Rng(seed), 0.2);
    return m;
  };
  const logits = (m: CausalLM) => noGrad(() => scope(() => m.forward(ids, 2, 6).toArray()));
  const randomizeB = (lora: LoraFineTune) => {
    const r = new Rng(9);
    for (const [, a] of lora.adapters) for (let i = 0; i < a.lora_B.weight.buf.length; i++) a.lora_B.weight.buf[i] = 0.1 * r.normal();
  };

  for (const [family, cfg] of [['llama', llamaCfg], ['gpt2', gpt2Cfg]] as const) {
    it(`${family}: output equals the base at init; merged equals unmerged; unmerge restores the base`, () => {
      const m = build(cfg);
      const base = logits(m);
      const baseW = Float32Array.from(m.blocks[0].parameters()[1].buf);
      const lora = new LoraFineTune(m, { rank: 4, alpha: 8, targets: 'all-linear', seed: 2 });
      expect(logits(m)).toEqual(base);
      randomizeB(lora);
      const unmerged = logits(m);
      expect(unmerged).not.toEqual(base);
      const live = memoryReport();
      lora.merge();
      logits(m).forEach((v, i) => expect(v).toBeCloseTo(unmerged[i], 4));
      lora.unmerge();
      m.blocks[0].parameters()[1].buf.forEach((v, i) => expect(v).toBeCloseTo(baseW[i], 6));
      // merge and unmerge leave nothing behind (no delta-weight temporaries)
      expect(memoryReport().liveStorages).toBe(live.liveStorages);
      expect(memoryReport().liveTotal).toBe(live.liveTotal);
    });

    it(`${family}: a saved adapter loads into a fresh base with identical outputs and PEFT names`, () => {
      const m = build(cfg);
      const lora = new LoraFineTune(m, { rank: 2, alpha: 4, targets: family === 'llama' ? ['q_proj', 'v_proj'] : ['c_attn'], seed: 3 });
      randomizeB(lora);
      const want = logits(m);
      const dir = mkdtempSync(join(tmpdir(), 'lora-'));
      saveLoraAdapter(dir, lora, 'base');
      const names = [...readSafetensors(join(dir, 'adapter_model.safetensors')).keys()].sort();
      const layer = family === 'llama' ? 'model.layers.0.self_attn.q_proj' : 'transformer.h.0.attn.c_attn';
      expect(names).toContain(`base_model.model.${layer}.lora_A.weight`);
      expect(names).toContain(`base_model.model.${layer}.lora_B.weight`);
      expect(names).toHaveLength(family === 'llama' ? 8 : 4);
      const cfgJson = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
      expect(cfgJson).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 4, bias: 'none',
        fan_in_fan_out: family === 'gpt2', base_model_name_or_path: 'base' });
      const fresh = build(cfg);
      loadLoraAdapter(dir, fresh);
      expect(logits(fresh)).toEqual(want);
    });
  }

  it('base weights never receive gradients; only A and B train', () => {
    const m = build(llamaCfg);
    const lora = new LoraFineTune(m, { rank: 2, alpha: 2, targets: ['q_proj', 'down_proj'] });
    scope(() => backward(crossEntropy(m.forward(ids, 2, 6), Int32Array.from(ids))));
    for (const [name, p] of m.namedParameters()) {
      const isLora = /lora_[AB]/.test(name);
      expect(p.requiresGrad).toBe(isLora);
      if (!isLora) expect(p.grad).toBeNull();
    }
    expect(lora.trainableParameters().every((p) => p.grad !== null)).toBe(true);
  });
});

describe('LoRA counts and options', () => {
  it('trainable counts follow PEFT: r * (in + out) per targeted linear', () => {
    const m = createModel(parseConfig(GPT2_SMALL), { shapeOnly: true });
    const lora = new LoraFineTune(m, { rank: 128, alpha: 256, targets: 'all-linear' });
    expect(lora.adapters).toHaveLength(48);
    expect(m.numParameters(true)).toBe(12 * 128 * ((768 + 2304) + (768 + 768) + (768 + 3072) + (3072 + 768)));
  });
  it('rejects an unknown target and a bad rank', () => {
    const m = createModel(parseConfig(llamaCfg), { shapeOnly: true });
    expect(() => new LoraFineTune(m, { rank: 2, alpha: 2, targets: ['qkv'] })).toThrow(/target 'qkv' matches no linear module/);
    expect(() => new LoraFineTune(m, { rank: 0, alpha: 2, targets: 'all-linear' })).toThrow(/rank must be an integer >= 1/);
  });
});
