// Argument checks shared by ops: every op validates here before any kernel (native code) is reached.
import { Tensor } from '../tensor/tensor.js';
import { ArgumentError, DTypeError, DisposedError, IndexError, ShapeError } from '../util/errors.js';
import { fmtShape } from '../util/shape.js';

/** Asserts t is a live Tensor whose backend supports its dtype. */
export function checkTensor(op: string, name: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) {
    throw new ArgumentError(`${op}: argument '${name}' must be a Tensor, got ${t === null ? 'null' : typeof t}`);
  }
  if (t.isDisposed) throw new DisposedError(`${op}: argument '${name}' (${fmtShape(t.shape)}) was disposed`);
  if (t.dtype !== 'bfloat16' && !t.backend.supports(t.dtype)) {
    throw new DTypeError(`${op}: backend ${t.backend.name} does not support ${t.dtype} (argument '${name}')`);
  }
  return t;
}

/** Options argument: undefined becomes {}; anything but a plain object is an error. */
export function checkOpts<T extends object>(op: string, opts: T | undefined): T {
  if (opts === undefined) return {} as T;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new ArgumentError(`${op}: options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  }
  return opts;
}

/** Asserts all tensors share dtype and backend. */
export function checkSame(op: string, named: Record<string, Tensor>): void {
  const entries = Object.entries(named);
  const [n0, t0] = entries[0];
  for (const [n, t] of entries.slice(1)) {
    if (t.dtype !== t0.dtype) throw new DTypeError(`${op}: '${n}' is ${t.dtype} but '${n0}' is ${t0.dtype}`);
    if (t.backend !== t0.backend) {
      throw new ArgumentError(`${op}: '${n}' is on backend ${t.backend.name} but '${n0}' is on ${t0.backend.name}`);
    }
  }
}

/** Asserts weight operands fit the input x (named xName): same backend, and the same dtype, or bfloat16 (a
 *  stored weight, widened inside the kernel) when x is float32. */
export function checkWeight(op: string, x: Tensor, named: Record<string, Tensor>, xName = 'x'): void {
  for (const [n, w] of Object.entries(named)) {
    if (w.backend !== x.backend) {
      throw new ArgumentError(`${op}: '${n}' is on backend ${w.backend.name} but '${xName}' is on ${x.backend.name}`);
    }
    if (w.dtype !== x.dtype && !(w.dtype === 'bfloat16' && x.dtype === 'float32')) {
      const hint = w.dtype === 'bfloat16' || x.dtype === 'bfloat16' ? ' (only a weight operand may be bfloat16, with float32 input)' : '';
      throw new DTypeError(`${op}: '${n}' is ${w.dtype} but '${xName}' is ${x.dtype}${hint}`);
    }
  }
}

export function checkRank(op: string, name: string, t: Tensor, ranks: number | readonly number[]): void {
  const ok = typeof ranks === 'number' ? t.rank === ranks : ranks.includes(t.rank);
  if (!ok) {
    throw new ShapeError(`${op}: '${name}' must have rank ${typeof ranks === 'number' ? ranks : ranks.join(' or ')}, got ${fmtShape(t.shape)}`);
  }
}

export function checkMinRank(op: string, name: string, t: Tensor, min: number): void {
  if (t.rank < min) throw new ShapeError(`${op}: '${name}' must have rank >= ${min}, got ${fmtShape(t.shape)}`);
}

export function checkNumber(op: string, name: string, v: unknown, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  if (typeof v !== 'number' || Number.isNaN(v) || (opts.integer && !Number.isSafeInteger(v))) {
    throw new ArgumentError(`${op}: '${name}' must be ${opts.integer ? 'an integer' : 'a number'}, got ${String(v)}`);
  }
  if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
    throw new ArgumentError(`${op}: '${name}' = ${v} is out of range [${opts.min ?? '-inf'}, ${opts.max ?? 'inf'}]`);
  }
  return v;
}

/** Asserts ids is an Int32Array of length n with every value in [0, limit) (except `allowed`). */
export function checkIndices(op: string, name: string, ids: unknown, n: number, limit: number, allowed?: number): Int32Array {
  if (!(ids instanceof Int32Array)) throw new ArgumentError(`${op}: '${name}' must be an Int32Array`);
  if (ids.length !== n) throw new ShapeError(`${op}: '${name}' has ${ids.length} entries, expected ${n}`);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if ((v < 0 || v >= limit) && v !== allowed) {
      throw new IndexError(`${op}: ${name}[${i}] = ${v} is out of range [0, ${limit})`);
    }
  }
  return ids;
}
