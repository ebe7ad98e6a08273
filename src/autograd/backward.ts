// Reverse-mode backward over the recorded graph, pruned to tensors that require grad. Leaf gradients
// accumulate into .grad (category 'gradients'); intermediate gradients are freed as soon as they are used, and
// what each node saved for backward as soon as its backward has run. A graph is used once.
import { Tensor, releaseNode } from '../tensor/tensor.js';
import { scope } from '../tensor/scope.js';
import { untrack } from '../tensor/scope-stack.js';
import { ArgumentError, ShapeError } from '../util/errors.js';
import { shapesEqual, fmtShape, contiguousStrides } from '../util/shape.js';
import { noGrad } from './tape.js';

/** Topological order of the graph above root (inputs before outputs), only through nodes where
 *  requiresGrad holds. */
export function topoOrder(root: Tensor, requiresGrad: (t: Tensor) => boolean): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const x = inputs[i];
      if (requiresGrad(x) && !seen.has(x)) {
        seen.add(x);
        stack.push([x, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/** A fresh dense tensor with g's values that the caller owns alone. */
function ownedCopy(g: Tensor): Tensor {
  const out = Tensor.empty(g.shape, { dtype: g.dtype, backend: g.backend, uninitialized: true });
  g.backend.copyStrided(g.buf, g.offset, g.strides, out.buf, 0, contiguousStrides(g.shape), g.shape);
  return out;
}

/** Adds g into leaf.grad, creating it (as kept 'gradients' memory) on first use. Takes ownership of g. */
function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (!leaf.grad) {
    const own = g.isDense() && g.storage.refs === 1 ? g : ownedCopy(g);
    if (own !== g) g.dispose();
    own.storage.recategorize('gradients');
    untrack(own);
    leaf.grad = own;
    return;
  }
  const acc = leaf.grad;
  acc.backend.binary('add', acc.buf, 0, acc.strides, g.buf, g.offset, g.strides, acc.buf, acc.shape);
  g.dispose();
}

export interface BackwardOptions {
  /** Called once per leaf as soon as its gradient is complete (every op that reads the leaf has run its
   *  backward), e.g. to apply the optimizer update and free the gradient at once. */
  onLeafGrad?: (leaf: Tensor) => void;
}

/** Computes d(root)/d(leaf) for every leaf that requires grad, accumulating into leaf.grad.
 *  grad defaults to 1 for a one-element root. */
export function backward(root: Tensor, grad?: Tensor, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new ArgumentError(`backward: tensor ${root.describe()} does not require grad`);
  if (!grad && root.size !== 1) {
    throw new ShapeError(`backward: root ${fmtShape(root.shape)} is not a scalar; pass its gradient explicitly`);
  }
  if (grad && !shapesEqual(grad.shape, root.shape)) {
    throw new ShapeError(`backward: gradient ${fmtShape(grad.shape)} does not match root ${fmtShape(root.shape)}`);
  }
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    let seed: Tensor;
    if (grad) seed = ownedCopy(grad);
    else {
      seed = Tensor.empty(root.shape, { dtype: root.dtype, backend: root.backend, uninitialized: true });
      seed.backend.fill(seed.buf, 1);
    }
    grads.set(root, seed);
    const order = topoOrder(root, (t) => t.requiresGrad);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      grads.delete(t);
      if (!t.node) {
        // Reverse topological order: every consumer of this leaf has run, so its gradient is complete (ops
        // may also have accumulated into leaf.grad in place).
        if (g) accumulateLeaf(t, g);
        if (t.grad) opts.onLeafGrad?.(t);
        continue;
      }
      if (!g) continue;
      const node = t.node;
      if (node.released) {
        throw new ArgumentError(`backward: the graph through ${node.op} ${fmtShape(t.shape)} was already used by a backward or dropped by its scope`);
      }
      const { inputs } = node;
      const needs = inputs.map((x) => x.requiresGrad);
      // Each node's backward runs in its own scope: its temporaries go when it returns; then what the node
      // saved for backward is released.
      const inGrads = scope(() => node.backward(g, needs));
      releaseNode(node);
      for (let i = 0; i < inputs.length; i++) {
        let gi = inGrads[i];
        if (!needs[i] || !gi) continue;
        const x = inputs[i];
        if (!shapesEqual(gi.shape, x.shape)) {
          throw new ShapeError(`backward of ${node.op}: gradient ${fmtShape(gi.shape)} for input ${i} does not match ${fmtShape(x.shape)}`);
        }
        // A backward may pass g (or one tensor twice) through; give each consumer its own view.
        if (gi === g || inGrads.indexOf(gi) < i) gi = view(gi);
        const prev = grads.get(x);
        if (!prev) grads.set(x, gi);
        else {
          const sum = prev.isDense() && prev.storage.refs === 1 ? prev : ownedCopy(prev);
          sum.backend.binary('add', sum.buf, 0, sum.strides, gi.buf, gi.offset, gi.strides, sum.buf, sum.shape);
          if (sum !== prev) prev.dispose();
          gi.dispose();
          grads.set(x, sum);
        }
      }
      g.dispose();
    }
    // Nodes the gradient never reached are done too.
    for (const t of order) if (t.node) releaseNode(t.node);
  });
}

function view(t: Tensor): Tensor {
  return new Tensor({ storage: t.storage, shape: t.shape, strides: t.strides, offset: t.offset, dtype: t.dtype, backend: t.backend });
}
