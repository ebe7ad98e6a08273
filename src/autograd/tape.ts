// Grad mode and op recording: an op's output gets a GradNode when grad is enabled and an input requires grad.
import type { GradNode, Tensor } from '../tensor/tensor.js';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with recording off (inference, and every backward function). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs fn with recording on (a checkpointed block's recompute inside a backward). */
export function withGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when an op over these inputs should be recorded. */
export function needsRecord(inputs: readonly Tensor[]): boolean {
  return gradEnabled && inputs.some((t) => t.requiresGrad);
}

/** Attaches a backward to out when needed. The backward receives the output gradient and which inputs need
 *  one; it runs under noGrad. `saved` are temporaries only the backward uses: freed at once when not recorded. */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: GradNode['backward'],
  saved: readonly Tensor[] = []): Tensor {
  if (!needsRecord(inputs)) {
    for (const t of saved) if (!inputs.includes(t)) t.dispose();
    return out;
  }
  out.requiresGrad = true;
  out.node = { op, inputs, backward };
  return out;
}
