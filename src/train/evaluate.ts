// Evaluation of a causal LM on examples: mean next-token cross-entropy over unmasked targets, perplexity.
import type { CausalLM } from '../models/causal-lm.js';
import { makeBatch, type Example } from '../data/example.js';
import { lmLoss } from '../models/lm-loss.js';
import { noGrad } from '../autograd/tape.js';
import { scope } from '../tensor/scope.js';

export interface EvalResult { loss: number; perplexity: number; tokens: number }

export function evaluate(model: CausalLM, examples: readonly Example[], batchSize = 8, padId = 0): EvalResult {
  let sum = 0;
  let tokens = 0;
  for (let i = 0; i < examples.length; i += batchSize) {
    const batch = makeBatch(examples.slice(i, i + batchSize), padId);
    if (batch.tokens === 0) continue;
    sum += noGrad(() => scope(() => lmLoss(model, batch.ids, batch.targets, batch.B, batch.T, { reduction: 'sum' }).item()));
    tokens += batch.tokens;
  }
  const loss = tokens ? sum / tokens : NaN;
  return { loss, perplexity: Math.exp(loss), tokens };
}
