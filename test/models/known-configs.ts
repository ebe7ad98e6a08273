// HF config.json objects of well-known models, for shape-only parameter counts (no weights needed).
export const GPT2_SMALL = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 };
export const TINYLLAMA_1_1B = {
  model_type: 'llama', vocab_size: 32000, hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 22,
  num_attention_heads: 32, num_key_value_heads: 4, rms_norm_eps: 1e-5, max_position_embeddings: 2048, tie_word_embeddings: false,
};
export const LLAMA2_7B = {
  model_type: 'llama', vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: 32, rms_norm_eps: 1e-5, max_position_embeddings: 4096, tie_word_embeddings: false,
};
export const LLAMA31_8B = {
  model_type: 'llama', vocab_size: 128256, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: 8, rms_norm_eps: 1e-5, max_position_embeddings: 131072, rope_theta: 500000,
  rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  tie_word_embeddings: false,
};
export const LLAMA2_70B = {
  model_type: 'llama', vocab_size: 32000, hidden_size: 8192, intermediate_size: 28672, num_hidden_layers: 80,
  num_attention_heads: 64, num_key_value_heads: 8, rms_norm_eps: 1e-5, max_position_embeddings: 4096, tie_word_embeddings: false,
};
