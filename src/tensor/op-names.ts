// The names of the engine's differentiable ops (src/ops/index.ts's table is keyed by them) and of the graph
// nodes they record: one list, so a node's op is always a known name.
export const OP_NAMES = [
  'add', 'sub', 'mul', 'div', 'maximum', 'minimum',
  'affine', 'scale', 'addScalar', 'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'relu', 'square', 'pow', 'gelu', 'silu',
  'sum', 'mean',
  'reshape', 'permute', 'transpose', 'slice', 'expand', 'contiguous', 'concat',
  'matmul', 'linear', 'embedding', 'layerNorm', 'rmsNorm', 'softmax', 'attention', 'qkvAttention', 'rope',
  'crossEntropy', 'linearCrossEntropy', 'dropout',
] as const;
export type OpName = (typeof OP_NAMES)[number];

/** What a graph node records: an op, or a checkpointed segment (recomputed in backward) and its inputs. */
export type NodeOp = OpName | 'checkpoint' | 'checkpoint input';
