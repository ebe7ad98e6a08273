// meta: the shape-only backend. Buffers are empty typed arrays (Storage keeps their logical size, so memory
// accounting counts them exactly as real buffers), kernels do nothing, and every value read is NaN.
import type { Backend, Buf, DType } from './backend.js';

/** An empty buffer of each dtype's array type (a new one per allocation: buffers are never shared). */
const EMPTY: Record<DType, () => Buf> = {
  float32: () => new Float32Array(0),
  float64: () => new Float64Array(0),
};

const nothing = (): void => {};

export const meta: Backend = {
  name: 'meta',
  holdsData: false,
  supports: (dtype: DType) => Object.prototype.hasOwnProperty.call(EMPTY, dtype),
  alloc: (dtype: DType) => EMPTY[dtype](),
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
};
