// Tensor creation: from data, zeros/ones/full, seeded normal.
import type { Backend, DType } from '../backends/backend.js';
import { Tensor } from '../tensor/tensor.js';
import { ArgumentError } from '../util/errors.js';
import { checkShape, numel, fmtShape } from '../util/shape.js';
import type { Rng } from '../util/rng.js';
import type { MemoryCategory } from '../tensor/memory.js';

export interface CreateOpts {
  dtype?: DType;
  backend?: Backend;
  requiresGrad?: boolean;
  /** Accounting category (default 'activations'; use 'other' for input data). */
  category?: MemoryCategory;
}

function make(shape: readonly number[], opts: CreateOpts): Tensor {
  const t = Tensor.empty(checkShape('tensor', shape), { dtype: opts.dtype, backend: opts.backend, category: opts.category });
  if (!t.backend.supports(t.dtype)) throw new ArgumentError(`tensor: backend ${t.backend.name} does not support ${t.dtype}`);
  t.requiresGrad = opts.requiresGrad ?? false;
  return t;
}

/** A tensor holding a copy of data (row-major) with the given shape. */
export function tensor(data: ArrayLike<number>, shape: readonly number[], opts: CreateOpts = {}): Tensor {
  if (data.length !== numel(checkShape('tensor', shape))) {
    throw new ArgumentError(`tensor: ${data.length} values do not fill shape ${fmtShape(shape)} (${numel(shape)} elements)`);
  }
  const t = make(shape, opts);
  t.backend.write(t.buf, 0, data);
  return t;
}

export function zeros(shape: readonly number[], opts: CreateOpts = {}): Tensor {
  return make(shape, opts);
}

export function full(shape: readonly number[], value: number, opts: CreateOpts = {}): Tensor {
  const t = make(shape, opts);
  t.backend.fill(t.buf, value);
  return t;
}

export function ones(shape: readonly number[], opts: CreateOpts = {}): Tensor {
  return full(shape, 1, opts);
}

/** Normal(mean, std) values from a seeded Rng. */
export function randn(shape: readonly number[], rng: Rng, opts: CreateOpts & { mean?: number; std?: number } = {}): Tensor {
  const t = make(shape, opts);
  if (t.isShapeOnly) return t; // meta: no values to draw
  const b = t.buf;
  const mean = opts.mean ?? 0;
  const std = opts.std ?? 1;
  for (let i = 0; i < b.length; i++) b[i] = mean + std * rng.normal();
  return t;
}
