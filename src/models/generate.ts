// Autoregressive generation with a KV cache: greedy (temperature 0) or sampling with temperature, top-k and
// top-p from a seeded Rng; stops at an end token, at maxNewTokens or at the model's context length.
import { noGrad } from '../autograd/tape.js';
import { slice } from '../ops/index.js';
import { scope } from '../tensor/scope.js';
import { ArgumentError, IndexError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { KVCache, type CausalLM } from './causal-lm.js';

export interface GenerateOptions {
  /** Tokens to generate at most (default 256). */
  maxNewTokens?: number;
  /** 0 = greedy (argmax, lowest id on ties); otherwise logits are divided by it before sampling. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (ties with the k-th kept, as in HF); 0 = off. Default 0. */
  topK?: number;
  /** Keep the smallest most-likely set whose probability reaches p (nucleus); 1 = off. Default 1. */
  topP?: number;
  /** Seed of the sampling Rng (default 0). Ignored when rng is given. */
  seed?: number;
  /** The sampling Rng (its state advances); overrides seed. */
  rng?: Rng;
  /** Generation stops after emitting one of these (it is included in the result). Default: the config's eos. */
  eosIds?: readonly number[];
  /** Called with each new token as soon as it is chosen; return false to stop after it. */
  onToken?: (id: number, index: number) => void | boolean;
}

export type StopReason = 'eos' | 'length' | 'context' | 'callback';

export interface GenerateResult {
  /** The new tokens (not the prompt), the end token included when generation stopped at one. */
  tokens: number[];
  stopReason: StopReason;
}

function checkOptions(model: CausalLM, promptIds: readonly number[], o: GenerateOptions): Required<Pick<GenerateOptions, 'maxNewTokens' | 'temperature' | 'topK' | 'topP'>> {
  const maxNewTokens = o.maxNewTokens ?? 256;
  const temperature = o.temperature ?? 1;
  const topK = o.topK ?? 0;
  const topP = o.topP ?? 1;
  if (!Number.isSafeInteger(maxNewTokens) || maxNewTokens < 0) throw new ArgumentError(`generate: maxNewTokens must be an integer >= 0, got ${maxNewTokens}`);
  if (!Number.isFinite(temperature) || temperature < 0) throw new ArgumentError(`generate: temperature must be a finite number >= 0, got ${temperature}`);
  if (!Number.isSafeInteger(topK) || topK < 0) throw new ArgumentError(`generate: topK must be an integer >= 0 (0 = off), got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new ArgumentError(`generate: topP must be in (0, 1] (1 = off), got ${topP}`);
  if (promptIds.length === 0) throw new ArgumentError('generate: the prompt has no tokens; start it with the BOS token at least');
  const V = model.config.vocabSize;
  promptIds.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new IndexError(`generate: prompt token ${i} is ${id}; expected an id in [0, ${V})`);
  });
  if (promptIds.length > model.maxPositions) {
    throw new ArgumentError(`generate: the prompt has ${promptIds.length} tokens, more than the model's context of ${model.maxPositions}`);
  }
  return { maxNewTokens, temperature, topK, topP };
}

function defaultEos(model: CausalLM): number[] {
  const e = model.config.eosTokenId;
  return e === undefined ? [] : Array.isArray(e) ? e : [e];
}

/** Index of the largest value (the first one on ties). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Picks the next token from one row of logits (V). */
export function sampleToken(logits: Float64Array, o: { temperature: number; topK: number; topP: number }, rng: Rng): number {
  if (o.temperature === 0) return argmax(logits);
  const V = logits.length;
  const z = logits.map((l) => l / o.temperature);
  // Candidates by decreasing logit (then increasing id): top-k and top-p both cut this list.
  let order = Array.from({ length: V }, (_, i) => i).sort((a, b) => z[b] - z[a] || a - b);
  if (o.topK > 0 && o.topK < V) {
    const kth = z[order[o.topK - 1]];
    order = order.filter((i) => z[i] >= kth);
  }
  const max = z[order[0]];
  let probs = order.map((i) => Math.exp(z[i] - max));
  const total = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / total);
  let n = order.length;
  if (o.topP < 1) {
    let cum = 0;
    n = 0;
    while (n < order.length && cum < o.topP) cum += probs[n++];
  }
  let mass = 0;
  for (let i = 0; i < n; i++) mass += probs[i];
  let r = rng.uniform() * mass;
  for (let i = 0; i < n; i++) {
    r -= probs[i];
    if (r < 0) return order[i];
  }
  return order[n - 1];
}

/** The logits of the last position of (1, T, V), as float64. */
function lastLogits(model: CausalLM, ids: Int32Array, cache: KVCache): Float64Array {
  return scope(() => {
    const T = ids.length;
    const logits = model.forward(ids, 1, T, cache); // (1, T, V)
    return Float64Array.from(slice(logits, 1, T - 1, T).toTypedArray()); // (1, 1, V)
  });
}

/**
 * Continues promptIds with the model. Runs under noGrad with a KV cache (the prompt in one forward, then one
 * position per step); each step's tensors are freed by a scope, so memory grows only by the cache.
 */
export function generate(model: CausalLM, promptIds: readonly number[], opts: GenerateOptions = {}): GenerateResult {
  const o = checkOptions(model, promptIds, opts);
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const eos = new Set(opts.eosIds ?? defaultEos(model));
  const tokens: number[] = [];
  if (o.maxNewTokens === 0) return { tokens, stopReason: 'length' };
  const cache = new KVCache(model.blocks.length);
  try {
    return noGrad(() => {
      let logits = lastLogits(model, Int32Array.from(promptIds), cache);
      for (;;) {
        const next = sampleToken(logits, o, rng);
        tokens.push(next);
        const go = opts.onToken?.(next, tokens.length - 1);
        if (eos.has(next)) return { tokens, stopReason: 'eos' as const };
        if (go === false) return { tokens, stopReason: 'callback' as const };
        if (tokens.length >= o.maxNewTokens) return { tokens, stopReason: 'length' as const };
        if (cache.length >= model.maxPositions) return { tokens, stopReason: 'context' as const };
        logits = lastLogits(model, Int32Array.of(next), cache);
      }
    });
  } finally {
    cache.dispose();
  }
}
