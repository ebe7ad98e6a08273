// Memory scopes: every tensor created inside scope(fn) is disposed when fn returns, except what fn returns
// and what was kept on purpose (parameters, gradients, optimizer state, keep()). Graph nodes recorded inside
// that the result does not lead back to are released too, so what they saved for backward is freed.
import { releaseNode, type Tensor } from './tensor.js';

interface Frame { tensors: Set<Tensor>; nodes: Tensor[] }
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

export function scopeDepth(): number {
  return stack.length;
}

/** Runs fn; disposes every tensor created inside except tensors reachable from the result (a tensor, or
 *  arrays/plain objects of them), which move to the enclosing scope. */
export function scope<T>(fn: () => T): T {
  const mine: Frame = { tensors: new Set(), nodes: [] };
  stack.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of mine.nodes) if (t.node) releaseNode(t.node);
    for (const t of mine.tensors) t.dispose();
    throw e;
  }
  stack.pop();
  const survivors = new Set<Tensor>();
  collectTensors(result, survivors, 0);
  settleNodes(mine.nodes, survivors);
  for (const t of mine.tensors) {
    if (survivors.has(t)) trackInScope(t);
    else t.dispose();
  }
  return result;
}

/** Nodes recorded in a closing scope: those the survivors' graphs pass through move to the enclosing scope
 *  (a later backward needs them); the rest are released. */
function settleNodes(nodes: Tensor[], survivors: Set<Tensor>): void {
  if (nodes.length === 0) return;
  const here = new Set(nodes);
  const reached = new Set<Tensor>();
  const todo = [...survivors].filter((t) => here.has(t));
  while (todo.length) {
    const t = todo.pop()!;
    if (reached.has(t)) continue;
    reached.add(t);
    for (const x of t.node?.inputs ?? []) if (here.has(x) && !reached.has(x)) todo.push(x);
  }
  for (const t of nodes) {
    if (reached.has(t)) trackNodeInScope(t);
    else if (t.node) releaseNode(t.node);
  }
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
