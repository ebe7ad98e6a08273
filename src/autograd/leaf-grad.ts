// Leaf gradients written in place: an op whose input is a dense leaf that requires grad (a parameter) may
// accumulate that input's gradient straight into leaf.grad (a GEMM with beta = 1, a scatter-add), so no
// full-size temporary is ever live beside it. The op then returns null for that input.
import { Tensor } from '../tensor/tensor.js';
import { untrack } from '../tensor/scope-stack.js';

/** leaf.grad and the beta to write into it: 1 (accumulate) into an existing gradient. An absent one is created
 *  (kept, category 'gradients'): zero-filled with beta 1, or, when the op `overwrites` every element on beta 0
 *  (a weight-gradient GEMM), left unfilled with beta 0. null when t is not a dense leaf that requires grad (its
 *  gradient then flows through the graph as usual). */
export function leafGradSink(t: Tensor, overwrites = false): { grad: Tensor; beta: 0 | 1 } | null {
  if (t.node || !t.requiresGrad || !t.isDense()) return null;
  if (t.grad) return { grad: t.grad, beta: 1 };
  const grad = Tensor.empty(t.shape, { dtype: t.dtype, backend: t.backend, category: 'gradients', uninitialized: overwrites });
  untrack(grad);
  t.grad = grad;
  return { grad, beta: overwrites ? 0 : 1 };
}
