// Grad mode and op recording: an op's output gets a GradNode when grad is enabled and an input requires grad.
import type { GradNode, Tensor } from '../tensor/tensor.js';
import type { NodeOp } from '../tensor/op-names.js';
import { trackNodeInScope } from '../tensor/scope-stack.js';

let gradEnabled = true;

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs fn with recording off (inference, and every backward function). */
export const noGrad = <T>(fn: () => T): T => withGradMode(false, fn);

/** Runs fn with recording on (a recompute inside a backward). */
export const withGrad = <T>(fn: () => T): T => withGradMode(true, fn);

/** True when an op over these inputs should be recorded. */
export function needsRecord(inputs: readonly Tensor[]): boolean {
  return gradEnabled && inputs.some((t) => t.requiresGrad);
}

/** Attaches a backward to out when needed. The backward receives the output gradient and which inputs need
 *  one; it runs under noGrad, in its own scope. `saved` lists every tensor the backward reads (inputs, the
 *  output, temporaries): the node holds them until its backward has run, so their owners may dispose them
 *  as soon as the forward moves on. `temps` are the op's own temporaries: disposed here (kept by the hold
 *  when recorded, freed at once when not). */
export function record(out: Tensor, op: NodeOp, inputs: readonly Tensor[], backward: GradNode['backward'],
  saved: readonly Tensor[] = [], temps: readonly Tensor[] = []): Tensor {
  if (needsRecord(inputs)) {
    for (const t of saved) t.hold();
    out.requiresGrad = true;
    out.node = { op, inputs, saved, released: false, backward };
    trackNodeInScope(out);
  }
  for (const t of temps) t.dispose();
  return out;
}
