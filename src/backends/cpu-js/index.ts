// The pure-TypeScript reference backend: every kernel, float32 and float64, simple loops.
import type { Backend, DType } from '../backend.js';
import { adamw, adamwMany } from './adamw.js';
import { attention, attentionBackward } from './attention.js';
import { binary, unary } from './elementwise.js';
import { embedding, embeddingBackward } from './embedding.js';
import { gemm } from './gemm.js';
import { layerNorm, layerNormBackward, rmsNorm, rmsNormBackward } from './norms.js';
import { sumReduce, sumSquares } from './reduce.js';
import { rope } from './rope.js';
import { crossEntropy, crossEntropyBackward, softmax, softmaxBackward } from './rows.js';
import { alloc, allocBits, castBf16, copyStrided, fill, read, sum, widenBf16, write } from './strided.js';

export const cpuJs: Backend = {
  name: 'cpu-js',
  holdsData: true,
  supports: (dtype: DType) => dtype === 'float32' || dtype === 'float64',
  alloc, allocBits, castBf16, widenBf16, read, write, sum, copyStrided, fill,
  unary, binary, sumReduce, sumSquares,
  gemm,
  softmax, softmaxBackward, attention, attentionBackward, crossEntropy, crossEntropyBackward,
  layerNorm, layerNormBackward, rmsNorm, rmsNormBackward,
  rope,
  embedding, embeddingBackward,
  adamw,
  adamwMany,
};
