// Model factory: builds the family named by a parsed config, with real or shape-only parameters.
import type { ParamFactory } from '../nn/module.js';
import type { ModelConfig } from './config.js';
import type { CausalLM } from './causal-lm.js';
import { Gpt2Model } from './gpt2.js';
import { LlamaModel } from './llama.js';

export function createModel(config: ModelConfig, f: ParamFactory = {}): CausalLM {
  return config.family === 'gpt2' ? new Gpt2Model(config, f) : new LlamaModel(config, f);
}

export { parseConfig, toHfConfig, ConfigError, type ModelConfig, type Gpt2Config, type LlamaConfig } from './config.js';
export { KVCache, initWeights, type CausalLM, type NonBlockRole } from './causal-lm.js';
export { Gpt2Model } from './gpt2.js';
export { LlamaModel } from './llama.js';
export { loadModel, saveModel, type LoadedModel } from './load.js';
export { lmLoss, type LmLossOpts } from './lm-loss.js';
