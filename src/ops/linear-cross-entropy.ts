// The LM head fused with cross-entropy, over row chunks: CE(x Wᵀ + b, targets) without ever holding the whole
// (N, V) logits or their gradient. Forward keeps each row's logsumexp and the first chunk's logits; backward
// recomputes the later chunks' logits.
import { BYTES_PER_ELEMENT, type Tensor } from '../tensor/tensor.js';
import type { Backend, Bf16Buf, Buf } from '../backends/backend.js';
import { record } from '../autograd/tape.js';
import { leafGradSink } from '../autograd/leaf-grad.js';
import { ArgumentError, ShapeError } from '../util/errors.js';
import { fmtShape } from '../util/shape.js';
import { checkIndices, checkNumber, checkOpts, checkRank, checkTensor, checkWeight } from './validate.js';
import { dense, denseF32, emptyLike, outputLike, release, weightBuf } from './alloc.js';
import { bf16Dot } from './matmul.js';

export interface LinearCrossEntropyOpts {
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum';
  /** Rows of logits computed at once (default: defaultChunkRows). */
  chunkRows?: number;
}

/** A chunk's logits take at most this many bytes. The whole logits of a 16k-token batch over a 32k vocabulary
 *  are 2 GiB in fp32 (and their gradient as much again); 64 MiB chunks still give each GEMM >= 256 rows for
 *  vocabularies up to 64k (128 rows at 128k), which keeps the GEMMs efficient, and backward holds at most
 *  two chunk buffers (logits and dlogits). */
export const CHUNK_BYTES = 64 * 1024 * 1024;

/** Rows per chunk so that a chunk's (rows, V) logits fit in CHUNK_BYTES. */
export function defaultChunkRows(V: number, bytesPerElement = 4): number {
  return Math.max(1, Math.floor(CHUNK_BYTES / (bytesPerElement * Math.max(1, V))));
}

/** logits[0 .. n*V) = x[r0 .. r0+n) Wᵀ (+ b), as linear() computes them (the bias added in the GEMM's epilogue). */
function chunkLogits(be: Backend, x: Buf, w: Buf | Bf16Buf, b: Buf | null, r0: number, n: number, C: number, V: number, logits: Buf): void {
  be.gemm({
    transA: false, transB: true, M: n, N: V, K: C, alpha: 1, beta: 0, batch: 1,
    a: x, aOffset: r0 * C, lda: C, aBatchStride: 0,
    b: w, bOffset: 0, ldb: C, bBatchStride: 0,
    c: logits, cOffset: 0, ldc: V, cBatchStride: 0, bf16Dot: bf16Dot(), ...(b ? { bias: b } : {}),
  });
}

/** x (N, C) hidden states, weight (V, C) (an nn.Linear head or the tied embedding), optional bias (V), targets
 *  (N) with ignoreIndex rows. Returns the scalar mean (over unmasked rows) or sum of the row losses. */
export function linearCrossEntropy(x: Tensor, w: Tensor, bias: Tensor | null, targets: Int32Array,
  opts: LinearCrossEntropyOpts = {}): Tensor {
  const op = 'linearCrossEntropy';
  checkTensor(op, 'x', x);
  checkTensor(op, 'weight', w);
  checkWeight(op, x, { weight: w }); // a frozen bf16 head is widened inside the GEMMs
  checkRank(op, 'x', x, 2);
  checkRank(op, 'weight', w, 2);
  opts = checkOpts(op, opts);
  const [N, C] = x.shape;
  const V = w.shape[0];
  if (w.shape[1] !== C) {
    throw new ShapeError(`${op}: x ${fmtShape(x.shape)} has ${C} features but weight${w.name ? ` '${w.name}'` : ''} ${fmtShape(w.shape)} (V, C) expects ${w.shape[1]}`);
  }
  if (bias !== null) {
    checkTensor(op, 'bias', bias);
    checkWeight(op, x, { bias });
    if (bias.rank !== 1 || bias.shape[0] !== V) throw new ShapeError(`${op}: bias${bias.name ? ` '${bias.name}'` : ''} ${fmtShape(bias.shape)} must be [${V}]`);
  }
  const ignoreIndex = checkNumber(op, 'ignoreIndex', opts.ignoreIndex ?? -100, { integer: true });
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') throw new ArgumentError(`${op}: unknown reduction '${String(reduction)}'`);
  const chunk = checkNumber(op, 'chunkRows', opts.chunkRows ?? defaultChunkRows(V, BYTES_PER_ELEMENT[x.dtype]), { integer: true, min: 1 });
  // A copy: the backward reads the targets after the caller may have reused its array.
  const tg = Int32Array.from(checkIndices(op, 'targets', targets, N, V, ignoreIndex));
  let count = 0;
  for (let i = 0; i < N; i++) if (tg[i] !== ignoreIndex) count++;
  const be = x.backend;
  const rowsMax = Math.max(1, Math.min(chunk, N));
  const chunks: [number, number][] = [];
  for (let r0 = 0; r0 < N; r0 += chunk) chunks.push([r0, Math.min(chunk, N - r0)]);
  const xd = dense(x);
  const wd = dense(w);
  const bd = bias ? denseF32(bias) : null;
  const lse = outputLike(x, [N]);
  // The first chunk's logits are kept for backward (which needs them first and would otherwise recompute them:
  // at N <= chunkRows, the whole head GEMM); the later chunks use a second buffer, freed here. Backward holds
  // two chunk buffers anyway, so the peak does not grow.
  const kept = outputLike(x, [rowsMax, V]);
  const rest = chunks.length > 1 ? outputLike(x, [rowsMax, V]) : kept;
  const losses = outputLike(x, [rowsMax]);
  let total = 0;
  for (const [r0, n] of chunks) {
    const logits = r0 === 0 ? kept : rest;
    chunkLogits(be, xd.buf, weightBuf(wd), bd ? bd.buf : null, r0, n, C, V, logits.buf);
    be.crossEntropy(logits.buf, tg.subarray(r0, r0 + n), n, V, ignoreIndex, losses.buf, lse.buf.subarray(r0, r0 + n));
    total += be.sum(losses.buf, n);
  }
  if (rest !== kept) rest.dispose();
  losses.dispose();
  release(xd, x);
  release(wd, w);
  if (bd && bias) release(bd, bias);
  const divisor = reduction === 'mean' ? count : 1;
  const out = emptyLike(x, []);
  be.write(out.buf, 0, [total / divisor]);
  const inputs = bias ? [x, w, bias] : [x, w];
  // d CE(x Wᵀ + b): per chunk dlogits = (softmax(logits) - onehot(target)) * g/divisor (0 on ignored rows);
  // dx = dlogits W, dW = Σ_chunks dlogitsᵀ x, db = Σ_rows dlogits. A parameter's dW and db accumulate straight
  // into its .grad (GEMM with beta = 1), so no (V, C) temporary is live beside it.
  return record(out, op, inputs, (g, needs) => {
    const s = g.backend.read(g.buf, g.offset) / divisor;
    const xb = dense(x);
    const wb = dense(w);
    const bb = bias ? denseF32(bias) : null;
    const gx = needs[0] ? emptyLike(x) : null;
    const wSink = needs[1] ? leafGradSink(w, count > 0) : null; // some chunk is live: its GEMM writes it all
    const gw = needs[1] ? wSink?.grad ?? emptyLike(w) : null;
    const bSink = bias && needs[2] ? leafGradSink(bias) : null;
    const gb = bias && needs[2] ? bSink?.grad ?? emptyLike(bias) : null;
    const lg = kept; // holds chunk 0's logits from forward; reused for the later chunks (backward runs once)
    const dl = outputLike(x, [rowsMax, V]);
    const scale = outputLike(x, [rowsMax]);
    be.fill(scale.buf, s);
    const rowSum = gb ? outputLike(x, [1, V]) : null;
    let first = true;
    for (const [r0, n] of chunks) {
      let live = false;
      for (let i = r0; i < r0 + n && !live; i++) live = tg[i] !== ignoreIndex;
      if (!live) continue; // every row ignored: zero gradient, already in gx / gw / gb
      if (r0 > 0) chunkLogits(be, xb.buf, weightBuf(wb), bb ? bb.buf : null, r0, n, C, V, lg.buf);
      be.crossEntropyBackward(lg.buf, lse.buf.subarray(r0, r0 + n), tg.subarray(r0, r0 + n), n, V, ignoreIndex, scale.buf, dl.buf);
      if (gx) {
        be.gemm({
          transA: false, transB: false, M: n, N: C, K: V, alpha: 1, beta: 0, batch: 1,
          a: dl.buf, aOffset: 0, lda: V, aBatchStride: 0, b: weightBuf(wb), bOffset: 0, ldb: C, bBatchStride: 0,
          c: gx.buf, cOffset: r0 * C, ldc: C, cBatchStride: 0, bf16Dot: bf16Dot(),
        });
      }
      if (gw) {
        be.gemm({
          transA: true, transB: false, M: V, N: C, K: n, alpha: 1, beta: first ? wSink?.beta ?? 0 : 1, batch: 1,
          a: dl.buf, aOffset: 0, lda: V, aBatchStride: 0, b: xb.buf, bOffset: r0 * C, ldb: C, bBatchStride: 0,
          c: gw.buf, cOffset: 0, ldc: C, cBatchStride: 0, bf16Dot: bf16Dot(),
        });
      }
      if (gb && rowSum) {
        be.sumReduce(dl.buf.subarray(0, n * V), [n, V], [false, true], rowSum.buf);
        be.binary('add', gb.buf, 0, [1], rowSum.buf, 0, [1], gb.buf, [V]);
      }
      first = false;
    }
    for (const t of [dl, scale, rowSum]) t?.dispose();
    release(xb, x);
    release(wb, w);
    if (bb && bias) release(bb, bias);
    return [gx, wSink ? null : gw, bSink ? null : gb];
  }, [...inputs, lse, kept], [lse, kept]);
}
