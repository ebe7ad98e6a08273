// Model configs read from HF config.json: GPT-2 and the Llama family (Llama, Mistral, Qwen2, SmolLM).
import { ConfigError } from '../util/errors.js';
import { showValue } from '../util/show.js';

export { ConfigError };

export interface Gpt2Config {
  family: 'gpt2';
  vocabSize: number;   // V
  nPositions: number;  // maximum T
  nEmbd: number;       // C
  nLayer: number;      // L
  nHead: number;       // nh
  nInner: number;      // MLP width (4C by default)
  layerNormEps: number;
  tieWordEmbeddings: boolean;
  bosTokenId?: number;
  eosTokenId?: number;
}

export interface LlamaConfig {
  family: 'llama';
  modelType: string;   // llama | mistral | qwen2 | ...
  vocabSize: number;
  hiddenSize: number;  // C
  intermediateSize: number;
  numLayers: number;   // L
  numHeads: number;    // nh
  numKvHeads: number;  // nkv
  headDim: number;     // hs
  rmsNormEps: number;
  ropeTheta: number;
  maxPositions: number;
  tieWordEmbeddings: boolean;
  /** Biases on q/k/v (Qwen2, or Llama's attention_bias) and on o_proj (Llama's attention_bias only). */
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  /** Llama-3 rope_scaling, when present. */
  ropeScaling?: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };
  /** 'half' (HF rotate-half, the HF checkpoint layout) unless a converter says otherwise. */
  ropeLayout: 'half' | 'interleaved';
  bosTokenId?: number;
  eosTokenId?: number | number[];
}

export type ModelConfig = Gpt2Config | LlamaConfig;

const LLAMA_TYPES = ['llama', 'mistral', 'qwen2', 'smollm'];

function int(cfg: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new ConfigError(`${file}: '${key}' must be a positive integer, got ${showValue(cfg[key])}`);
  }
  return v;
}

function num(cfg: Record<string, unknown>, key: string, file: string, fallback: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${file}: '${key}' must be a number, got ${showValue(cfg[key])}`);
  return v;
}

function bool(cfg: Record<string, unknown>, key: string, file: string, fallback: boolean): boolean {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'boolean') throw new ConfigError(`${file}: '${key}' must be true or false, got ${showValue(cfg[key])}`);
  return v;
}

/** Parses a config.json object; `file` names it in errors. */
export function parseConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: expected a JSON object`);
  const cfg = raw as Record<string, unknown>;
  if (cfg.model_type != null && typeof cfg.model_type !== 'string') throw new ConfigError(`${file}: 'model_type' must be a string, got ${showValue(cfg.model_type)}`);
  const type = cfg.model_type ?? '';
  const archs = Array.isArray(cfg.architectures) ? cfg.architectures.map((a) => (typeof a === 'string' ? a : showValue(a))) : [];
  if (type === 'gpt2' || archs.includes('GPT2LMHeadModel')) {
    const nEmbd = int(cfg, 'n_embd', file);
    const nHead = int(cfg, 'n_head', file);
    if (nEmbd % nHead !== 0) throw new ConfigError(`${file}: n_embd ${nEmbd} is not divisible by n_head ${nHead}`);
    const act = cfg.activation_function ?? 'gelu_new';
    if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
      throw new ConfigError(`${file}: activation_function ${showValue(act)} is not supported (expected gelu_new)`);
    }
    return {
      family: 'gpt2', vocabSize: int(cfg, 'vocab_size', file), nPositions: int(cfg, 'n_positions', file, 1024),
      nEmbd, nLayer: int(cfg, 'n_layer', file), nHead, nInner: cfg.n_inner == null ? 4 * nEmbd : int(cfg, 'n_inner', file),
      layerNormEps: num(cfg, 'layer_norm_epsilon', file, 1e-5), tieWordEmbeddings: bool(cfg, 'tie_word_embeddings', file, true),
      bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : undefined,
      eosTokenId: typeof cfg.eos_token_id === 'number' ? cfg.eos_token_id : undefined,
    };
  }
  if (LLAMA_TYPES.includes(type)) {
    const hiddenSize = int(cfg, 'hidden_size', file);
    const numHeads = int(cfg, 'num_attention_heads', file);
    const numKvHeads = int(cfg, 'num_key_value_heads', file, numHeads);
    if (numHeads % numKvHeads !== 0) {
      throw new ConfigError(`${file}: num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
    }
    const headDim = cfg.head_dim == null ? hiddenSize / numHeads : int(cfg, 'head_dim', file);
    if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new ConfigError(`${file}: head dim ${headDim} must be an even integer`);
    const act = cfg.hidden_act ?? 'silu';
    if (act !== 'silu') throw new ConfigError(`${file}: hidden_act ${showValue(act)} is not supported (expected silu)`);
    const scaling = cfg.rope_scaling as Record<string, unknown> | null | undefined;
    if (scaling && scaling.rope_type !== 'default' && scaling.type !== 'default' && scaling.rope_type !== 'llama3') {
      // Linear/dynamic/yarn scaling change the positions' angles; we refuse rather than compute them wrongly.
      throw new ConfigError(`${file}: rope_scaling ${showValue(scaling, 200)} is not supported`);
    }
    return {
      family: 'llama', modelType: type, vocabSize: int(cfg, 'vocab_size', file), hiddenSize,
      intermediateSize: int(cfg, 'intermediate_size', file), numLayers: int(cfg, 'num_hidden_layers', file),
      numHeads, numKvHeads, headDim, rmsNormEps: num(cfg, 'rms_norm_eps', file, 1e-6),
      ropeTheta: num(cfg, 'rope_theta', file, 10000), maxPositions: int(cfg, 'max_position_embeddings', file, 2048),
      tieWordEmbeddings: bool(cfg, 'tie_word_embeddings', file, false),
      qkvBias: type === 'qwen2' || bool(cfg, 'attention_bias', file, false), oBias: type !== 'qwen2' && bool(cfg, 'attention_bias', file, false),
      mlpBias: bool(cfg, 'mlp_bias', file, false),
      ropeScaling: scaling && scaling.rope_type === 'llama3' ? {
        factor: num(scaling, 'factor', `${file} rope_scaling`, 8), lowFreqFactor: num(scaling, 'low_freq_factor', `${file} rope_scaling`, 1),
        highFreqFactor: num(scaling, 'high_freq_factor', `${file} rope_scaling`, 4),
        originalMaxPositions: num(scaling, 'original_max_position_embeddings', `${file} rope_scaling`, 8192),
      } : undefined,
      ropeLayout: 'half',
      bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : undefined,
      eosTokenId: (typeof cfg.eos_token_id === 'number' || Array.isArray(cfg.eos_token_id)) ? cfg.eos_token_id as number | number[] : undefined,
    };
  }
  throw new ConfigError(`${file}: unsupported architecture (model_type '${type}', architectures ${showValue(archs, 200)}); supported: gpt2, ${LLAMA_TYPES.join(', ')}`);
}

/** The config.json object HF transformers expects for this config. */
export function toHfConfig(c: ModelConfig): Record<string, unknown> {
  if (c.family === 'gpt2') {
    return {
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: c.vocabSize, n_positions: c.nPositions,
      n_ctx: c.nPositions, n_embd: c.nEmbd, n_layer: c.nLayer, n_head: c.nHead, n_inner: c.nInner === 4 * c.nEmbd ? null : c.nInner,
      activation_function: 'gelu_new', layer_norm_epsilon: c.layerNormEps, tie_word_embeddings: c.tieWordEmbeddings,
      resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, torch_dtype: 'float32',
      ...(c.bosTokenId !== undefined ? { bos_token_id: c.bosTokenId } : {}),
      ...(c.eosTokenId !== undefined ? { eos_token_id: c.eosTokenId } : {}),
    };
  }
  const arch = { llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM' }[c.modelType] ?? 'LlamaForCausalLM';
  return {
    architectures: [arch], model_type: c.modelType === 'smollm' ? 'llama' : c.modelType, vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize, intermediate_size: c.intermediateSize, num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads, num_key_value_heads: c.numKvHeads, head_dim: c.headDim, hidden_act: 'silu',
    rms_norm_eps: c.rmsNormEps, rope_theta: c.ropeTheta, max_position_embeddings: c.maxPositions,
    tie_word_embeddings: c.tieWordEmbeddings, mlp_bias: c.mlpBias, torch_dtype: 'float32',
    ...(c.modelType === 'qwen2' ? {} : { attention_bias: c.oBias }),
    ...(c.ropeScaling ? { rope_scaling: { rope_type: 'llama3', factor: c.ropeScaling.factor, low_freq_factor: c.ropeScaling.lowFreqFactor,
      high_freq_factor: c.ropeScaling.highFreqFactor, original_max_position_embeddings: c.ropeScaling.originalMaxPositions } } : {}),
    ...(c.bosTokenId !== undefined ? { bos_token_id: c.bosTokenId } : {}),
    ...(c.eosTokenId !== undefined ? { eos_token_id: c.eosTokenId } : {}),
  };
}
