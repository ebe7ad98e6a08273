// Memory scopes: every tensor created inside scope(fn) is disposed when fn returns, except what fn returns
// and what was kept on purpose (parameters, gradients, optimizer state, keep()). Graph nodes recorded inside
// that the result does not lead back to are released too, so what they saved for backward is freed.
import { releaseNode, type Tensor } from './tensor.js';
import { popFrame, pushFrame, trackInScope, trackNodeInScope } from './scope-stack.js';

/** Runs fn; disposes every tensor created inside except tensors reachable from the result (a tensor, or any
 *  nesting of arrays, Maps, Sets and objects holding them, however deep), which move to the enclosing scope. */
export function scope<T>(fn: () => T): T {
  const mine = pushFrame();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    popFrame();
    for (const t of mine.nodes) if (t.node) releaseNode(t.node);
    for (const t of mine.tensors) t.dispose();
    throw e;
  }
  popFrame();
  const survivors = collectTensors(result);
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

function isTensor(v: object): v is Tensor {
  return (v as { isTensor?: unknown }).isTensor === true;
}

/** Every tensor reachable from v through arrays, Maps, Sets and objects' own enumerable fields, at any depth
 *  (iterative, each object visited once, so cycles and deep nesting are fine). Typed arrays hold no tensors. */
function collectTensors(v: unknown): Set<Tensor> {
  const out = new Set<Tensor>();
  const seen = new Set<object>();
  const todo: unknown[] = [v];
  while (todo.length) {
    const x = todo.pop();
    if (x === null || typeof x !== 'object' || seen.has(x)) continue;
    seen.add(x);
    if (isTensor(x)) out.add(x);
    else if (ArrayBuffer.isView(x) || x instanceof ArrayBuffer) continue;
    else if (Array.isArray(x)) todo.push(...x);
    else if (x instanceof Map) for (const [k, val] of x) todo.push(k, val);
    else if (x instanceof Set) todo.push(...x);
    else todo.push(...Object.values(x));
  }
  return out;
}
