// Leaf gradients written in place: an op whose input is a dense leaf that requires grad (a parameter) may
// accumulate that input's gradient straight into leaf.grad (a GEMM with beta = 1, a scatter-add), so no
// full-size temporary is ever live beside it. The op then returns null for that input.
import { Tensor } from '../tensor/tensor.js';
import { untrack } from '../tensor/scope-stack.js';

/** leaf.grad, created zero-filled (kept, category 'gradients') if absent; null when t is not a dense leaf
 *  that requires grad (its gradient then flows through the graph as usual). */
export function leafGradSink(t: Tensor): Tensor | null {
  if (t.node || !t.requiresGrad || !t.isDense()) return null;
  if (!t.grad) {
    const g = Tensor.empty(t.shape, { dtype: t.dtype, backend: t.backend, category: 'gradients' });
    untrack(g);
    t.grad = g;
  }
  return t.grad;
}
