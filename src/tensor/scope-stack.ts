// The stack of open memory scopes: which tensors and graph nodes each scope owns. scope.ts opens and closes them.
import type { Tensor } from './tensor.js';

export interface Frame { tensors: Set<Tensor>; nodes: Tensor[] }
const stack: Frame[] = [];

/** Called by the Tensor constructor. */
export function trackInScope(t: Tensor): void {
  if (stack.length) stack[stack.length - 1].tensors.add(t);
}

/** Called when an op records a node on t (its output). */
export function trackNodeInScope(t: Tensor): void {
  if (stack.length) stack[stack.length - 1].nodes.push(t);
}

/** Removes t from every open scope: it will live until disposed by hand. */
export function untrack(t: Tensor): void {
  for (const s of stack) s.tensors.delete(t);
}

/** Opens a scope: tensors and nodes created from now on belong to the returned frame until popFrame. */
export function pushFrame(): Frame {
  const frame: Frame = { tensors: new Set(), nodes: [] };
  stack.push(frame);
  return frame;
}

/** Closes the innermost scope (the one pushFrame returned last). */
export function popFrame(): void {
  stack.pop();
}
