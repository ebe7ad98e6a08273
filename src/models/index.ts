// The models layer's front: the factory, the two families, loading and saving, the LM loss.
export { createModel } from './create.js';
export { parseConfig, toHfConfig, type ModelConfig, type Gpt2Config, type LlamaConfig } from './config.js';
export { KVCache, initWeights, type CausalLM, type NonBlockRole } from './causal-lm.js';
export { Gpt2Model } from './gpt2.js';
export { LlamaModel } from './llama.js';
export { loadModel, saveModel, type LoadedModel } from './load.js';
export { lmLoss, type LmLossOpts } from './lm-loss.js';
