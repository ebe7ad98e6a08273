// The training loss of a causal LM: next-token cross-entropy from the final hidden states through the fused,
// chunked LM head (ops/linear-cross-entropy.ts), so the whole (B*T, V) logits never exist at once.
import type { Tensor } from '../tensor/tensor.js';
import { crossEntropy, linearCrossEntropy, reshape } from '../ops/index.js';
import type { CausalLM } from './causal-lm.js';

export interface LmLossOpts {
  reduction?: 'mean' | 'sum';
  /** Rows of logits per chunk (default: ops' defaultChunkRows, at most 64 MiB of logits). */
  chunkRows?: number;
}

/** Cross-entropy of model(ids) against targets (B*T, -100 = ignored), as crossEntropy(model.forward(...)). A head
 *  wrapped by an adapter (LoRA on lm_head) falls back to the unfused logits. */
export function lmLoss(model: CausalLM, ids: Int32Array, targets: Int32Array, B: number, T: number, opts: LmLossOpts = {}): Tensor {
  const reduction = opts.reduction ?? 'mean';
  const head = model.plainHead();
  if (!head) return crossEntropy(model.forward(ids, B, T), targets, { reduction });
  const h = model.hidden(ids, B, T); // (B, T, C)
  const x = reshape(h, [B * T, h.shape[2]]); // (B*T, C)
  return linearCrossEntropy(x, head.weight, head.bias, targets, { reduction, chunkRows: opts.chunkRows });
}
