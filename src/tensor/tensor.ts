// Tensor: a strided view over a reference-counted Storage, with autograd fields. Parameter: a named leaf.
import type { Backend, Bf16Buf, Buf, DType } from '../backends/backend.js';
import { defaultBackend, meta } from '../backends/index.js';
import { DisposedError, ArgumentError, DTypeError } from '../util/errors.js';
import { bf16BitsArrayToF32 } from '../util/bf16.js';
import { contiguousStrides, numel, fmtShape, type Shape } from '../util/shape.js';
import { trackAlloc, trackFree, trackRecategorize, type MemoryCategory } from './memory.js';
import { trackInScope, untrack } from './scope-stack.js';
import { allocBuffer, releaseBuffer } from './buffer-pool.js';
import type { NodeOp } from './op-names.js';

export const BYTES_PER_ELEMENT: Record<DType, number> = { float32: 4, float64: 8, bfloat16: 2 };

/** Storage for n bfloat16 values: bits (plain memory that kernels widen); empty with n*2 logical bytes on a backend
 *  that holds no data (meta). */
export function bf16Storage(backend: Backend, n: number, category: MemoryCategory): Storage {
  return new Storage(backend.allocBits(n), category, null, 2 * n);
}

/** A buffer and its accounting. Freed when the last tensor viewing it is disposed. `bytes` is the logical
 *  size (elements x bytes per element), which a meta buffer has without holding memory. */
export class Storage {
  /** Float32Array/Float64Array, or Uint16Array of bfloat16 bits (a weight stored in bf16). */
  buf: Buf | Bf16Buf | null;
  readonly bytes: number;
  refs = 0;
  /** Where the buffer goes back to when freed (buffers from the pool). */
  private readonly owner: { backend: Backend; dtype: DType } | null;
  constructor(buf: Buf | Bf16Buf, public category: MemoryCategory, owner: { backend: Backend; dtype: DType } | null = null,
    bytes: number = buf.byteLength) {
    this.buf = buf;
    this.bytes = bytes;
    this.owner = owner;
    trackAlloc(category, this.bytes);
  }
  release(): void {
    if (--this.refs === 0 && this.buf) {
      trackFree(this.category, this.bytes);
      if (this.owner && !(this.buf instanceof Uint16Array)) releaseBuffer(this.owner.backend, this.owner.dtype, this.buf);
      this.buf = null;
    }
  }
  recategorize(to: MemoryCategory): void {
    if (this.buf && to !== this.category) trackRecategorize(this.category, to, this.bytes);
    this.category = to;
  }
}

/** A recorded op: its inputs, the tensors its backward reads (held until it has run) and a backward that maps
 *  the output gradient to input gradients. */
export interface GradNode {
  readonly op: NodeOp;
  readonly inputs: readonly Tensor[];
  /** What the backward reads; each is held (kept alive past its owner's dispose) until release(). */
  readonly saved: readonly Tensor[];
  /** True once the backward ran or the graph was dropped: the saved tensors are gone. */
  released: boolean;
  /** needs[i] says whether input i needs a gradient; entries for inputs that do not may be null. */
  backward(grad: Tensor, needs: readonly boolean[]): (Tensor | null)[];
}

/** Drops a node's holds on its saved tensors (each is freed if its owner already disposed it). Idempotent. */
export function releaseNode(node: GradNode): void {
  if (node.released) return;
  node.released = true;
  for (const t of node.saved) t.unhold();
}

export interface TensorInit {
  storage: Storage;
  shape: Shape;
  strides?: readonly number[];
  offset?: number;
  dtype: DType;
  backend: Backend;
}

export class Tensor {
  readonly isTensor = true;
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly backend: Backend;
  requiresGrad = false;
  grad: Tensor | null = null;
  node: GradNode | null = null;
  name: string | undefined;
  private disposed = false;
  /** Graph nodes that will read this tensor in backward; while > 0, dispose() only marks it. */
  private holds = 0;
  /** Its owner (a scope, an op, the caller) disposed it while held: freed when the last hold goes. */
  private ownerDisposed = false;

  constructor(init: TensorInit) {
    this.storage = init.storage;
    this.shape = Object.freeze([...init.shape]);
    this.strides = Object.freeze(init.strides ? [...init.strides] : contiguousStrides(init.shape));
    this.offset = init.offset ?? 0;
    this.dtype = init.dtype;
    this.backend = init.backend;
    this.storage.refs++;
    trackInScope(this);
  }

  /** A new contiguous tensor; its storage is zero-filled, or left with unspecified contents when `uninitialized`
   *  (for an output that a kernel writes in full). */
  static empty(shape: Shape, opts: { dtype?: DType; backend?: Backend; category?: MemoryCategory; uninitialized?: boolean } = {}): Tensor {
    const backend = opts.backend ?? defaultBackend();
    const dtype = opts.dtype ?? 'float32';
    const n = numel(shape);
    if (dtype === 'bfloat16') { // bf16 bits are plain memory that kernels widen; never from the backend's pool
      return new Tensor({ storage: bf16Storage(backend, n, opts.category ?? 'activations'), shape, dtype, backend });
    }
    const buf = allocBuffer(backend, dtype, n, !opts.uninitialized);
    const storage = new Storage(buf, opts.category ?? 'activations', { backend, dtype }, n * BYTES_PER_ELEMENT[dtype]);
    return new Tensor({ storage, shape, dtype, backend });
  }

  get rank(): number { return this.shape.length; }
  get size(): number { return numel(this.shape); }
  get isDisposed(): boolean { return this.disposed; }
  /** A shape-only tensor (on the meta backend) has a shape and a logical size but no data. */
  get isShapeOnly(): boolean { return !this.backend.holdsData; }
  get bytes(): number { return this.size * BYTES_PER_ELEMENT[this.dtype]; }

  /** The underlying buffer (for kernels). Throws if disposed, or for a bfloat16 tensor (see bits). */
  get buf(): Buf {
    const b = this.storage.buf;
    if (this.disposed || !b) throw new DisposedError(`tensor ${this.describe()} was used after it was disposed`);
    if (b instanceof Uint16Array) {
      throw new DTypeError(`tensor ${this.describe()} is stored in bfloat16; only linear, matmul (as b), embedding and the norms take it (widened to float32 inside the kernel)`);
    }
    return b;
  }

  /** The bfloat16 bits of a bfloat16 tensor (for kernels that widen them). Throws for other dtypes. */
  get bits(): Bf16Buf {
    const b = this.storage.buf;
    if (this.disposed || !b) throw new DisposedError(`tensor ${this.describe()} was used after it was disposed`);
    if (!(b instanceof Uint16Array)) throw new DTypeError(`tensor ${this.describe()} is not bfloat16`);
    return b;
  }

  isContiguous(): boolean {
    let s = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== s) return false;
      s *= this.shape[i];
    }
    return true;
  }

  /** True when the tensor is contiguous, starts at 0 and covers its whole storage (kernels take such buffers). */
  isDense(): boolean {
    return this.offset === 0 && this.isContiguous() && this.size * BYTES_PER_ELEMENT[this.dtype] === this.storage.bytes;
  }

  describe(): string {
    return `${this.name ? `'${this.name}' ` : ''}${fmtShape(this.shape)} ${this.dtype}`;
  }

  /** Values in row-major order, as a new plain array. */
  toArray(): number[] {
    this.checkHoldsData('toArray');
    if (this.dtype === 'bfloat16') return Array.from(this.toTypedArray());
    const buf = this.buf;
    if (this.isContiguous()) return Array.from(buf.subarray(this.offset, this.offset + this.size));
    const out = this.backend.alloc(this.dtype, this.size);
    this.backend.copyStrided(buf, this.offset, this.strides, out, 0, contiguousStrides(this.shape), this.shape);
    return Array.from(out);
  }

  /** Values as a typed array copy (Float32Array for float32 and bfloat16, widened exactly). */
  toTypedArray(): Buf {
    this.checkHoldsData('toTypedArray');
    if (this.dtype === 'bfloat16') {
      if (!this.isDense()) throw new DTypeError(`toTypedArray: bfloat16 tensor ${this.describe()} must be dense`);
      return bf16BitsArrayToF32(this.bits);
    }
    const buf = this.buf;
    const out = this.backend.alloc(this.dtype, this.size);
    this.backend.copyStrided(buf, this.offset, this.strides, out, 0, contiguousStrides(this.shape), this.shape);
    return out;
  }

  item(): number {
    if (this.size !== 1) throw new ArgumentError(`item(): tensor ${this.describe()} has ${this.size} elements, expected 1`);
    if (this.dtype === 'bfloat16') return this.isShapeOnly ? NaN : this.toTypedArray()[0]!;
    return this.backend.read(this.buf, this.offset);
  }

  private checkHoldsData(what: string): void {
    if (this.isShapeOnly) throw new ArgumentError(`${what}(): tensor ${this.describe()} is shape-only (${this.backend.name} backend): it holds no values`);
  }

  /** Frees this view; the storage goes when its last view does. Safe to call twice. While a graph node holds
   *  the tensor for its backward, the memory stays until that backward has run. The graph link (node) stays:
   *  backward still passes through a freed intermediate. */
  dispose(): void {
    if (this.disposed || this.ownerDisposed) return;
    untrack(this);
    if (this.holds > 0) {
      this.ownerDisposed = true;
      return;
    }
    this.disposed = true;
    this.storage.release();
  }

  /** A graph node will read this tensor in its backward. */
  hold(): void {
    if (this.disposed) throw new DisposedError(`tensor ${this.describe()} was saved for backward after it was disposed`);
    this.holds++;
  }

  /** The node's backward ran (or its graph was dropped). */
  unhold(): void {
    if (--this.holds === 0 && this.ownerDisposed) {
      this.ownerDisposed = false;
      this.dispose();
    }
  }

  /** Keeps this tensor beyond the enclosing scopes; it then lives until dispose(). */
  keep(): this {
    untrack(this);
    return this;
  }
}

/** A trainable (or frozen) leaf tensor with a name. Its storage counts as weights; its grad as gradients.
 *  With bf16Rest, the weight rests in bfloat16 and trains through an fp32 master (src/tensor/precision.ts): the
 *  storage is then either the bf16 bits or the master, swapped by swapStorage. */
export class Parameter extends Tensor {
  /** The dotted name (model.layers.0.self_attn.q_proj.weight): always set for a parameter. */
  declare name: string;
  bf16Rest = false;

  constructor(name: string, storage: Storage, shape: Shape, dtype: DType, backend: Backend, requiresGrad = true) {
    super({ storage, shape, dtype, backend });
    this.name = name;
    this.requiresGrad = requiresGrad;
    storage.recategorize('weights');
    untrack(this);
  }

  static fromData(name: string, data: Buf, shape: Shape, opts: { backend?: Backend; requiresGrad?: boolean } = {}): Parameter {
    const backend = opts.backend ?? defaultBackend();
    const dtype: DType = data instanceof Float64Array ? 'float64' : 'float32';
    if (data.length !== numel(shape)) {
      throw new ArgumentError(`Parameter '${name}': data has ${data.length} elements, shape ${fmtShape(shape)} needs ${numel(shape)}`);
    }
    const buf = backend.alloc(dtype, data.length);
    backend.write(buf, 0, data);
    const storage = new Storage(buf, 'weights', null, data.length * BYTES_PER_ELEMENT[dtype]);
    return new Parameter(name, storage, shape, dtype, backend, opts.requiresGrad ?? true);
  }

  /** A parameter on the meta backend: a name, a shape and a logical size but no data (shape-only models:
   *  parameter counts and memory estimates). */
  static shapeOnly(name: string, shape: Shape, opts: { dtype?: DType; requiresGrad?: boolean } = {}): Parameter {
    return Parameter.zeros(name, shape, { ...opts, backend: meta });
  }

  /** A bfloat16 parameter (bf16Rest) over the given bits, which it takes over. */
  static fromBf16Bits(name: string, bits: Bf16Buf, shape: Shape, opts: { backend?: Backend; requiresGrad?: boolean } = {}): Parameter {
    if (bits.length !== numel(shape)) {
      throw new ArgumentError(`Parameter '${name}': data has ${bits.length} elements, shape ${fmtShape(shape)} needs ${numel(shape)}`);
    }
    const p = new Parameter(name, new Storage(bits, 'weights'), shape, 'bfloat16', opts.backend ?? defaultBackend(), opts.requiresGrad ?? true);
    p.bf16Rest = true;
    return p;
  }

  static zeros(name: string, shape: Shape, opts: { backend?: Backend; dtype?: DType; requiresGrad?: boolean } = {}): Parameter {
    const backend = opts.backend ?? defaultBackend();
    const dtype = opts.dtype ?? 'float32';
    const n = numel(shape);
    if (dtype === 'bfloat16') {
      const p = new Parameter(name, bf16Storage(backend, n, 'weights'), shape, dtype, backend, opts.requiresGrad ?? true);
      p.bf16Rest = true;
      return p;
    }
    const storage = new Storage(backend.alloc(dtype, n), 'weights', null, n * BYTES_PER_ELEMENT[dtype]);
    return new Parameter(name, storage, shape, dtype, backend, opts.requiresGrad ?? true);
  }

  /** Replaces the storage (bf16 bits <-> fp32 master; src/tensor/precision.ts). The old storage is released. */
  swapStorage(storage: Storage, dtype: DType): void {
    if (this.isDisposed) throw new DisposedError(`parameter ${this.describe()} was used after it was disposed`);
    storage.refs++;
    storage.recategorize('weights');
    const old = this.storage;
    const self = this as unknown as { storage: Storage; dtype: DType };
    self.storage = storage;
    self.dtype = dtype;
    old.release();
  }

  /** Drops the gradient (frees its memory). */
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }
}
