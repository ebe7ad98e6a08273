// Cross-entropy fused with log-softmax over the last dim, with ignore-index masking; mean over the
// unmasked targets (NaN when every target is masked, as torch), or their sum.
import type { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { ArgumentError } from '../util/errors.js';
import { checkIndices, checkMinRank, checkNumber, checkOpts, checkTensor } from './validate.js';
import { copies, dense, emptyLike, outputLike } from './alloc.js';

export interface CrossEntropyOpts { ignoreIndex?: number; reduction?: 'mean' | 'sum' }

/** logits (..., V), targets with one entry per row of logits. Returns a scalar. */
export function crossEntropy(logits: Tensor, targets: Int32Array, opts: CrossEntropyOpts = {}): Tensor {
  checkTensor('crossEntropy', 'logits', logits);
  checkMinRank('crossEntropy', 'logits', logits, 1);
  opts = checkOpts('crossEntropy', opts);
  const ignoreIndex = checkNumber('crossEntropy', 'ignoreIndex', opts.ignoreIndex ?? -100, { integer: true });
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') throw new ArgumentError(`crossEntropy: unknown reduction '${String(reduction)}'`);
  const V = logits.shape[logits.rank - 1];
  const rows = V === 0 ? 0 : logits.size / V;
  checkIndices('crossEntropy', 'targets', targets, rows, V, ignoreIndex);
  let count = 0;
  for (let i = 0; i < rows; i++) if (targets[i] !== ignoreIndex) count++;
  const ld = dense(logits);
  const losses = outputLike(logits, [rows]);
  const lse = outputLike(logits, [rows]);
  logits.backend.crossEntropy(ld.buf, targets, rows, V, ignoreIndex, losses.buf, lse.buf);
  const total = logits.backend.sum(losses.buf, rows);
  losses.dispose();
  const divisor = reduction === 'mean' ? count : 1;
  const out = emptyLike(logits, []);
  out.backend.write(out.buf, 0, [total / divisor]);
  // d CE: (softmax(logits) - onehot(target)) * g / divisor per unmasked row
  return record(out, 'crossEntropy', [logits], (g) => {
    const scale = emptyLike(logits, [rows]);
    scale.backend.fill(scale.buf, g.backend.read(g.buf, g.offset) / divisor);
    const gl = outputLike(logits);
    logits.backend.crossEntropyBackward(ld.buf, lse.buf, targets, rows, V, ignoreIndex, scale.buf, gl.buf);
    return [gl];
  }, [ld, lse], [lse, ...copies([ld, logits])]);
}
