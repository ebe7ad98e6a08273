// embedding: gathers rows of a (V, C) weight by token id; the gradient scatter-adds back into the rows.
import { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { leafGradSink } from '../autograd/leaf-grad.js';
import { checkShape, numel, fmtShape } from '../util/shape.js';
import { ShapeError } from '../util/errors.js';
import { checkIndices, checkRank, checkTensor } from './validate.js';
import { dense, emptyLike, outputLike, release, weightBuf } from './alloc.js';

/** weight (V, C), ids of the given shape -> (...shape, C). A bfloat16 weight is widened in the gather. */
export function embedding(weight: Tensor, ids: Int32Array, shape: readonly number[]): Tensor {
  checkTensor('embedding', 'weight', weight);
  checkRank('embedding', 'weight', weight, 2);
  shape = checkShape('embedding', shape, 'ids shape');
  const n = numel(shape);
  const [V, C] = weight.shape;
  checkIndices('embedding', 'ids', ids, n, V);
  const wd = dense(weight);
  const out = weight.dtype === 'bfloat16'
    ? Tensor.empty([...shape, C], { dtype: 'float32', backend: weight.backend, uninitialized: true })
    : outputLike(weight, [...shape, C]); // the gather writes every row
  weight.backend.embedding(weightBuf(wd), ids, n, C, out.buf);
  release(wd, weight);
  // d embedding: dW[ids[i]] += g[i] (straight into a parameter's .grad)
  return record(out, 'embedding', [weight], (g) => {
    if (g.size !== n * C) throw new ShapeError(`embedding backward: gradient ${fmtShape(g.shape)} does not match ids ${fmtShape(shape)}`);
    const gd = dense(g);
    const sink = leafGradSink(weight);
    const gw = sink?.grad ?? emptyLike(weight); // a scatter-add: zero-filled
    weight.backend.embeddingBackward(ids, gd.buf, n, C, gw.buf);
    return [sink ? null : gw];
  });
}
