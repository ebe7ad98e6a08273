// Memory scopes: every tensor created inside scope(fn) is disposed when fn returns, except what fn returns
// and what was kept on purpose (parameters, gradients, optimizer state, keep()).
import type { Tensor } from './tensor.js';

const stack: Set<Tensor>[] = [];

/** Called by the Tensor constructor. */
export function trackInScope(t: Tensor): void {
  if (stack.length) stack[stack.length - 1].add(t);
}

/** Removes t from every open scope: it will live until disposed by hand. */
export function untrack(t: Tensor): void {
  for (const s of stack) s.delete(t);
}

export function scopeDepth(): number {
  return stack.length;
}

/** Runs fn; disposes every tensor created inside except tensors reachable from the result (a tensor, or
 *  arrays/plain objects of them), which move to the enclosing scope. */
export function scope<T>(fn: () => T): T {
  const mine = new Set<Tensor>();
  stack.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of mine) t.dispose();
    throw e;
  }
  stack.pop();
  const survivors = new Set<Tensor>();
  collectTensors(result, survivors, 0);
  for (const t of mine) {
    if (survivors.has(t)) trackInScope(t);
    else t.dispose();
  }
  return result;
}

function collectTensors(v: unknown, out: Set<Tensor>, depth: number): void {
  if (v === null || typeof v !== 'object' || depth > 4) return;
  if ((v as { isTensor?: boolean }).isTensor === true) {
    out.add(v as Tensor);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collectTensors(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collectTensors(x, out, depth + 1);
}
