// matmul (batched, all transpose forms, broadcast of a 2-D operand) and linear (nn.Linear or Conv1D layout).
import type { MatmulPrecision } from '../backends/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { leafGradSink } from '../autograd/leaf-grad.js';
import { ArgumentError, ShapeError } from '../util/errors.js';
import { fmtShape } from '../util/shape.js';
import { checkMinRank, checkOpts, checkRank, checkTensor, checkWeight } from './validate.js';
import { dense, denseF32, outputLike, release, weightBuf } from './alloc.js';
import { reshape } from './view.js';
import { sumTo } from './sum-to.js';

export interface MatmulOpts { transA?: boolean; transB?: boolean }

let precision: MatmulPrecision = 'float32';

/** train.matmulPrecision for every GEMM of matmul, linear and linearCrossEntropy (forward, input gradient and
 *  weight gradient): 'float32' (default) multiplies exactly (a bfloat16 weight is widened); 'bfloat16' rounds both
 *  operands to bfloat16 (a bfloat16 weight as it is) and accumulates in fp32, as torch's autocast does. Returns
 *  the previous setting. */
export function setMatmulPrecision(p: MatmulPrecision): MatmulPrecision {
  const prev = precision;
  precision = p;
  return prev;
}

/** GemmArgs.bf16Dot under the current train.matmulPrecision. */
export const bf16Dot = (): boolean => precision === 'bfloat16';

/** op(a) @ op(b) over the last two dims. a is (..., M, K) (or (..., K, M) with transA), b likewise (K, N).
 *  Batch dims must be equal, or one operand is 2-D and is shared over the other's batch. b may be a bfloat16
 *  weight (a is then float32): the GEMM widens it while it reads, and no float32 copy is made. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOpts = {}): Tensor {
  checkTensor('matmul', 'a', a);
  checkTensor('matmul', 'b', b);
  checkWeight('matmul', a, { b }, 'a');
  checkMinRank('matmul', 'a', a, 2);
  checkMinRank('matmul', 'b', b, 2);
  opts = checkOpts('matmul', opts);
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const Kb = transB ? bc : br;
  const N = transB ? br : bc;
  if (K !== Kb) {
    throw new ShapeError(`matmul: inner dims differ: a ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} and b ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''} (${K} vs ${Kb})`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  let batchShape: readonly number[];
  if (aBatch.length === 0) batchShape = bBatch;
  else if (bBatch.length === 0) batchShape = aBatch;
  else if (aBatch.length === bBatch.length && aBatch.every((d, i) => d === bBatch[i])) batchShape = aBatch;
  else throw new ShapeError(`matmul: batch dims of a ${fmtShape(a.shape)} and b ${fmtShape(b.shape)} must be equal, or one operand 2-D`);
  const batch = batchShape.reduce((n, d) => n * d, 1);
  const ad = dense(a);
  const bd = dense(b);
  const out = outputLike(a, [...batchShape, M, N]);
  a.backend.gemm({
    transA, transB, M, N, K, alpha: 1, beta: 0, batch,
    a: ad.buf, aOffset: 0, lda: ac, aBatchStride: aBatch.length ? ar * ac : 0,
    b: weightBuf(bd), bOffset: 0, ldb: bc, bBatchStride: bBatch.length ? br * bc : 0,
    c: out.buf, cOffset: 0, ldc: N, cBatchStride: M * N, bf16Dot: bf16Dot(),
  });
  release(ad, a);
  release(bd, b);
  // d (opA(A) opB(B)): dA = g opB(B)ᵀ (transposed back when transA); dB = opA(A)ᵀ g (likewise); summed over
  // the batch for a shared 2-D operand (the backward's scope frees the unsummed one).
  return record(out, 'matmul', [a, b], (g, needs) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (needs[0]) {
      ga = transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB });
      ga = sumTo(ga, a.shape);
    }
    if (needs[1]) {
      gb = transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA });
      gb = sumTo(gb, b.shape);
    }
    return [ga, gb];
  }, [a, b]);
}

export interface LinearOpts {
  /** 'out_in': weight is (out, in), as nn.Linear. 'in_out': weight is (in, out), as GPT-2's Conv1D. */
  layout?: 'out_in' | 'in_out';
}

/** y = x Wᵀ + b over the last dim of x (..., in) -> (..., out). One GEMM over all leading dims; a frozen
 *  weight's gradient GEMM is skipped. W (and b) may be bfloat16 (frozen, stored): widened inside the GEMM. */
export function linear(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: LinearOpts = {}): Tensor {
  checkTensor('linear', 'x', x);
  checkTensor('linear', 'weight', w);
  checkWeight('linear', x, { weight: w });
  checkMinRank('linear', 'x', x, 1);
  checkRank('linear', 'weight', w, 2);
  opts = checkOpts('linear', opts);
  const layout = opts.layout ?? 'out_in';
  if (layout !== 'out_in' && layout !== 'in_out') throw new ArgumentError(`linear: unknown layout '${String(layout)}'`);
  const [inF, outF] = layout === 'out_in' ? [w.shape[1], w.shape[0]] : [w.shape[0], w.shape[1]];
  const inX = x.shape[x.rank - 1];
  if (inX !== inF) {
    throw new ShapeError(`linear: x ${fmtShape(x.shape)} has ${inX} input features but weight${w.name ? ` '${w.name}'` : ''} ${fmtShape(w.shape)} expects ${inF}`);
  }
  if (bias !== null) {
    checkTensor('linear', 'bias', bias);
    checkWeight('linear', x, { bias });
    if (bias.rank !== 1 || bias.shape[0] !== outF) {
      throw new ShapeError(`linear: bias${bias.name ? ` '${bias.name}'` : ''} ${fmtShape(bias.shape)} must be [${outF}]`);
    }
  }
  const rows = x.size / inX;
  const outShape = [...x.shape.slice(0, -1), outF];
  const xd = dense(x);
  const wd = dense(w);
  const y = outputLike(x, outShape); // the GEMM (beta 0) writes it all
  const bd = bias ? denseF32(bias) : null; // a bfloat16 bias is widened into a small (out) temporary
  const transB = layout === 'out_in';
  x.backend.gemm({
    transA: false, transB, M: rows, N: outF, K: inF, alpha: 1, beta: 0, batch: 1,
    a: xd.buf, aOffset: 0, lda: inF, aBatchStride: 0,
    b: weightBuf(wd), bOffset: 0, ldb: w.shape[1], bBatchStride: 0,
    c: y.buf, cOffset: 0, ldc: outF, cBatchStride: 0, bf16Dot: bf16Dot(),
    ...(bd ? { bias: bd.buf } : {}), // added to every row in the GEMM's epilogue
  });
  if (bd) release(bd, bias!);
  release(xd, x);
  release(wd, w);
  const inputs = bias ? [x, w, bias] : [x, w];
  // d linear: dx = g W (out_in) or g Wᵀ (in_out); dW = gᵀ x (out_in) or xᵀ g (in_out); db = sum_rows g.
  // A parameter's dW is accumulated straight into its .grad (GEMM with beta = 1).
  return record(y, 'linear', inputs, (g, needs) => {
    const g2 = reshape(g, [rows, outF]); // (rows, out)
    let gx: Tensor | null = null;
    let gw: Tensor | null = null;
    let gb: Tensor | null = null;
    if (needs[0]) {
      gx = reshape(matmul(g2, w, { transB: layout === 'in_out' }), x.shape); // (rows, in) -> x's shape
    }
    if (needs[1]) {
      const sink = leafGradSink(w, true);
      const target = sink?.grad ?? outputLike(w);
      const gd = dense(g2);
      const xd2 = dense(x);
      const [a, lda, b, ldb, M, N] = layout === 'out_in' ? [gd, outF, xd2, inF, outF, inF] : [xd2, inF, gd, outF, inF, outF];
      x.backend.gemm({
        transA: true, transB: false, M, N, K: rows, alpha: 1, beta: sink?.beta ?? 0, batch: 1,
        a: a.buf, aOffset: 0, lda, aBatchStride: 0,
        b: b.buf, bOffset: 0, ldb, bBatchStride: 0,
        c: target.buf, cOffset: 0, ldc: N, cBatchStride: 0, bf16Dot: bf16Dot(),
      });
      if (!sink) gw = target;
    }
    if (needs[2]) gb = sumTo(g2, [outF]);
    return [gx, gw, gb];
  }, [x, w]);
}
