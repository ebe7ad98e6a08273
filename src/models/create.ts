// Model factory: builds the family named by a parsed config, with real or shape-only parameters; and the public
// variant that also parses an HF config.json object and draws the initial weights.
import type { ParamFactory } from '../nn/module.js';
import { Rng } from '../util/rng.js';
import { parseConfig, type ModelConfig } from './config.js';
import { initWeights, type CausalLM } from './causal-lm.js';
import { Gpt2Model } from './gpt2.js';
import { LlamaModel } from './llama.js';

/** The model of a parsed config with its parameters allocated and not initialised. */
export function createModel(config: ModelConfig, f: ParamFactory = {}): CausalLM {
  return config.family === 'gpt2' ? new Gpt2Model(config, f) : new LlamaModel(config, f);
}

/** Options of createInitialisedModel. */
export interface CreateModelOptions extends ParamFactory {
  /** Seed of the initial weights (default 0). */
  seed?: number;
  /** Standard deviation of the weights' normal init (default 0.02; biases 0, norm weights 1). */
  std?: number;
}

/** A model from a parsed ModelConfig or an HF config.json object (`model_type` gpt2, llama, mistral, qwen2,
 *  smollm), with GPT-2/Llama initial weights drawn from a seeded Rng (shape-only models get none). */
export function createInitialisedModel(config: ModelConfig | Record<string, unknown>, opts: CreateModelOptions = {}): CausalLM {
  const parsed = 'family' in config ? (config as ModelConfig) : parseConfig(config, 'createModel config');
  const model = createModel(parsed, opts);
  initWeights(model, new Rng(opts.seed ?? 0), opts.std);
  return model;
}
