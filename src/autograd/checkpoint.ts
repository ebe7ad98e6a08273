// Gradient checkpointing: a block runs unrecorded in forward, keeping only its input; its one graph node
// recomputes the block with grad enabled in backward and backpropagates through the recomputed graph.
import { Tensor } from '../tensor/tensor.js';
import { scope } from '../tensor/scope.js';
import type { Rng } from '../util/rng.js';
import { ArgumentError } from '../util/errors.js';
import { needsRecord, noGrad, record, withGrad } from './tape.js';
import { backward } from './backward.js';

export interface CheckpointOptions {
  /** Generators fn draws from (dropout masks): their state before the forward is replayed in the recompute,
   *  so the recomputed block sees the same masks, and restored afterwards. */
  rngs?: readonly Rng[];
  /** Other tensors fn reads (RoPE tables): held for the recompute like x. */
  saved?: readonly Tensor[];
}

/**
 * y = fn(x) without keeping fn's intermediates. params are the parameters fn uses: those that require grad are
 * inputs of the node, so it is recorded (and their gradients land in .grad) even when x needs no gradient.
 * fn must be deterministic given x, the parameters and the rngs' states.
 */
export function checkpoint(fn: (x: Tensor) => Tensor, x: Tensor, params: readonly Tensor[], opts: CheckpointOptions = {}): Tensor {
  if (!(x instanceof Tensor)) throw new ArgumentError('checkpoint: x must be a Tensor');
  const inputs = [x, ...params.filter((p) => p.requiresGrad)];
  if (!needsRecord(inputs)) return fn(x);
  const rngs = opts.rngs ?? [];
  const before = rngs.map((r) => r.getState());
  // scope: every intermediate of fn is freed now; only y survives.
  const y = noGrad(() => scope(() => fn(x)));
  if (y === x) return y;
  // d checkpoint: recompute y' = fn(x') with grad on a fresh leaf-like x', then backward(y', g) gives dx = g·∂y'/∂x'
  // (parameter gradients accumulate into .grad inside that backward).
  return record(y, 'checkpoint', inputs, (g, needs) => {
    const now = rngs.map((r) => r.getState());
    rngs.forEach((r, i) => r.setState(before[i]));
    try {
      return withGrad(() => scope(() => {
        let gx: Tensor | null = null;
        const xr = new Tensor({ storage: x.storage, shape: x.shape, strides: x.strides, offset: x.offset, dtype: x.dtype, backend: x.backend });
        if (needs[0]) {
          // x' is a graph node with no inputs whose backward catches dx: a view that outlives the engine's g and,
          // kept out of the scopes, this backward's scope; the outer backward then owns it like any gradient.
          xr.requiresGrad = true;
          xr.node = {
            op: 'checkpoint input', inputs: [], saved: [], released: false, backward: (gg) => {
              gx = new Tensor({ storage: gg.storage, shape: gg.shape, strides: gg.strides, offset: gg.offset, dtype: gg.dtype, backend: gg.backend }).keep();
              return [];
            },
          };
        }
        const yr = fn(xr);
        if (yr.requiresGrad) backward(yr, g);
        return [gx as Tensor | null, ...inputs.slice(1).map(() => null)];
      }));
    } finally {
      rngs.forEach((r, i) => r.setState(now[i]));
    }
  }, [x, ...(opts.saved ?? [])]);
}
