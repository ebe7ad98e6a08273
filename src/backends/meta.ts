// meta: the shape-only backend. Buffers are empty typed arrays (Storage keeps their logical size, so memory
// accounting counts them exactly as real buffers), kernels do nothing, and every value read is NaN.
import type { Backend, Buf, DType } from './backend.js';

/** A new empty buffer per allocation (buffers are never shared). Its array type does not matter: no kernel
 *  reads it, and Storage takes the logical size from the dtype table, so every dtype is supported. */
const empty = (dtype: DType): Buf => (dtype === 'float64' ? new Float64Array(0) : new Float32Array(0));

const nothing = (): void => {};

export const meta: Backend = {
  name: 'meta',
  holdsData: false,
  supports: () => true,
  alloc: empty,
  allocBits: () => new Uint16Array(0),
  castBf16: nothing,
  widenBf16: nothing,
  read: () => NaN,
  write: nothing,
  sum: () => NaN,
  copyStrided: nothing,
  fill: nothing,
  unary: nothing,
  binary: nothing,
  sumReduce: nothing,
  sumSquares: () => NaN,
  gemm: nothing,
  softmax: nothing,
  softmaxBackward: nothing,
  attention: nothing,
  attentionBackward: nothing,
  crossEntropy: nothing,
  crossEntropyBackward: nothing,
  layerNorm: nothing,
  layerNormBackward: nothing,
  rmsNorm: nothing,
  rmsNormBackward: nothing,
  rope: nothing,
  embedding: nothing,
  embeddingBackward: nothing,
  adamw: nothing,
  adamwMany: nothing,
};
