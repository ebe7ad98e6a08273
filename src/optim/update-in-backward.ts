// AdamW applied inside backward: each trainable tensor is updated as soon as its gradient is complete and the
// gradient is freed at once, so at most a few gradients are alive at any moment instead of all of them.
// Without clipping this is the same update as a step after backward, bit for bit (AdamW is per tensor).
import type { Parameter, Tensor } from '../tensor/tensor.js';
import type { AdamW } from './adamw.js';

export interface InBackwardUpdate {
  /** The backward hook (pass as backward's onLeafGrad). */
  onLeafGrad(leaf: Tensor): void;
  /** The global L2 norm of the gradients applied so far (what gradNorm would have reported). */
  norm(): number;
}

export function updateInBackward(trainable: readonly Parameter[], optimizer: AdamW, lr: number): InBackwardUpdate {
  const byLeaf = new Map<Tensor, Parameter>(trainable.map((p) => [p, p]));
  let sumSquares = 0;
  return {
    onLeafGrad(leaf) {
      const p = byLeaf.get(leaf);
      if (!p || !leaf.grad) return;
      sumSquares += p.backend.sumSquares(leaf.grad.buf, leaf.grad.size);
      optimizer.step([p], lr);
      p.zeroGrad();
    },
    norm: () => Math.sqrt(sumSquares),
  };
}
