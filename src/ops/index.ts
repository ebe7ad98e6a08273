// The op table: every differentiable op of the engine. Each op records its backward through record(), whose
// backward argument is required, so an op without a backward does not compile. OpName lists them all.
import { add, sub, mul, div, maximum, minimum } from './binary.js';
import { affine, scale, addScalar, neg, exp, log, sqrt, rsqrt, tanh, sigmoid, relu, square, pow, gelu, silu } from './unary.js';
import { sum, mean } from './reduce.js';
import { reshape, permute, transpose, slice, expand, contiguous } from './view.js';
import { concat } from './concat.js';
import { matmul, linear } from './matmul.js';
import { embedding } from './embedding.js';
import { layerNorm, rmsNorm } from './norm.js';
import { softmax } from './softmax.js';
import { attention, qkvAttention } from './attention.js';
import { rope } from './rope.js';
import { crossEntropy } from './cross-entropy.js';
import { linearCrossEntropy } from './linear-cross-entropy.js';
import { dropout } from './dropout.js';

import type { OpName } from '../tensor/op-names.js';

export type { OpName };

export const OPS = {
  add, sub, mul, div, maximum, minimum,
  affine, scale, addScalar, neg, exp, log, sqrt, rsqrt, tanh, sigmoid, relu, square, pow, gelu, silu,
  sum, mean,
  reshape, permute, transpose, slice, expand, contiguous, concat,
  matmul, linear, embedding, layerNorm, rmsNorm, softmax, attention, qkvAttention, rope, crossEntropy, linearCrossEntropy, dropout,
} as const satisfies Record<OpName, (...args: never[]) => unknown>;

export {
  add, sub, mul, div, maximum, minimum,
  affine, scale, addScalar, neg, exp, log, sqrt, rsqrt, tanh, sigmoid, relu, square, pow, gelu, silu,
  sum, mean,
  reshape, permute, transpose, slice, expand, contiguous, concat,
  matmul, linear, embedding, layerNorm, rmsNorm, softmax, attention, qkvAttention, rope, crossEntropy, linearCrossEntropy, dropout,
};
export { ropeTables } from './rope.js';
export { tensor, zeros, ones, randn } from './creation.js';
export { defaultChunkRows } from './linear-cross-entropy.js';
