// cpu-js batched GEMM: C_b = alpha * op(A_b) @ op(B_b) + beta * C_b (+ bias on every row), dot products
// accumulated in float64.
// A bfloat16 B (a stored weight) is widened one row of op(B) at a time into a small scratch row; with bf16Dot,
// alpha * A and a float32 B are rounded to bfloat16 first (round to nearest even, denormals to zero, as
// vcvtneps2bf16).
import type { Bf16Buf, GemmArgs } from '../backend.js';
import { bf16BitsToF32, f32ToBf16Bits } from '../../util/bf16.js';

const widen = new Float32Array(1);
const widenBits = new Uint32Array(widen.buffer);

/** x rounded to bfloat16 as the bf16 dot-product GEMM rounds its A operand. */
function roundBf16Daz(x: number): number {
  return Math.abs(x) < 1.1754943508222875e-38 ? 0 * Math.sign(x) : bf16BitsToF32(f32ToBf16Bits(x));
}

/** row[j] = op(B)[k, j] for j < N, widened from bfloat16 bits (exact). */
function widenRow(b: Bf16Buf, start: number, step: number, N: number, row: Float64Array): Float64Array {
  for (let j = 0; j < N; j++) {
    widenBits[0] = b[start + j * step]! << 16;
    row[j] = widen[0]!;
  }
  return row;
}

export function gemm(g: GemmArgs): void {
  const { M, N, K, alpha, beta, a, b, c, lda, ldb, ldc } = g;
  // op(A)[i, k] = a[i*aRow + k*aCol]; op(B)[k, j] = b[k*bRow + j*bCol].
  const aRow = g.transA ? 1 : lda, aCol = g.transA ? lda : 1;
  const bRow = g.transB ? 1 : ldb, bCol = g.transB ? ldb : 1;
  const acc = new Float64Array(N);
  const bf = b instanceof Uint16Array ? b : null;
  const roundA = g.bf16Dot === true;
  const scaleOut = roundA ? 1 : alpha; // with roundA, alpha is applied before the rounding
  const row = bf || roundA ? new Float64Array(N) : null;
  for (let bt = 0; bt < g.batch; bt++) {
    const a0 = g.aOffset + bt * g.aBatchStride;
    const b0 = g.bOffset + bt * g.bBatchStride;
    const c0 = g.cOffset + bt * g.cBatchStride;
    for (let i = 0; i < M; i++) {
      acc.fill(0);
      // Row i of op(A) @ op(B), k ascending for every j: acc[j] = sum_k A[i,k] * B[k,j].
      for (let k = 0; k < K; k++) {
        const aik = roundA ? roundBf16Daz(Math.fround(alpha * a[a0 + i * aRow + k * aCol]!)) : a[a0 + i * aRow + k * aCol]!;
        const bk = b0 + k * bRow;
        if (bf) {
          widenRow(bf, bk, bCol, N, row!);
          for (let j = 0; j < N; j++) acc[j] += aik * row![j]!;
        } else if (roundA) {
          for (let j = 0; j < N; j++) acc[j] += aik * roundBf16Daz(b[bk + j * bCol]!);
        } else {
          for (let j = 0; j < N; j++) acc[j] += aik * b[bk + j * bCol]!;
        }
      }
      const ci = c0 + i * ldc;
      if (beta === 0) {
        for (let j = 0; j < N; j++) c[ci + j] = scaleOut * acc[j]!;
      } else {
        for (let j = 0; j < N; j++) c[ci + j] = scaleOut * acc[j]! + beta * c[ci + j]!;
      }
      if (g.bias) for (let j = 0; j < N; j++) c[ci + j] += g.bias[j]!;
    }
  }
}
