// Model factory: builds the family named by a parsed config, with real or shape-only parameters.
import type { ParamFactory } from '../nn/module.js';
import type { ModelConfig } from './config.js';
import type { CausalLM } from './causal-lm.js';
import { Gpt2Model } from './gpt2.js';
import { LlamaModel } from './llama.js';

export function createModel(config: ModelConfig, f: ParamFactory = {}): CausalLM {
  return config.family === 'gpt2' ? new Gpt2Model(config, f) : new LlamaModel(config, f);
}
