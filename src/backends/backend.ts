// The Backend interface: typed-array buffers and the kernels every backend implements. Never sees a Tensor.
//
// Conventions shared by every kernel:
// - Buffers are Float32Array (both backends) or Float64Array (cpu-js only, for finite-difference checks).
//   The meta backend's buffers are empty typed arrays (no memory): Storage keeps their logical size.
// - Unless a kernel takes strides, its buffers are contiguous row-major and start at index 0.
// - Callers (src/ops) validate every size, offset and index before calling; kernels do not re-check.
// - "out" buffers are fully written unless the kernel says it accumulates (+=).

export const DTYPES = ['float32', 'float64', 'bfloat16'] as const;
export type DType = (typeof DTYPES)[number];
/** How weights may be stored for training (float64 is for reference checks only). */
export const WEIGHT_DTYPES = ['float32', 'bfloat16'] as const satisfies readonly DType[];
export type WeightDtype = (typeof WEIGHT_DTYPES)[number];

/** Backends that compute (a training run may pick one); meta only tracks shapes. */
export const COMPUTE_BACKENDS = ['cpu-native', 'cpu-js'] as const;
export const BACKEND_NAMES = [...COMPUTE_BACKENDS, 'meta'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type Buf = Float32Array | Float64Array;
/** bfloat16 bits (a stored weight): kernels that take one (GEMM's B, embedding) widen it to float32 as they read. */
export type Bf16Buf = Uint16Array;

/** out = f(x) elementwise. `affine`: alpha*x + beta. `pow`: x^alpha. */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'tanh' | 'sigmoid' | 'relu' | 'abs' | 'square'
  | 'gelu' | 'silu' | 'affine' | 'pow';

/** out = f(a, b) elementwise. `geluGrad`/`siluGrad`/`reluGrad`: b * f'(a) (a is the forward input). */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'geluGrad' | 'siluGrad' | 'reluGrad';

export const UNARY_OPS: readonly UnaryOp[] = [
  'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'square', 'gelu', 'silu', 'affine', 'pow',
];
export const BINARY_OPS: readonly BinaryOp[] = [
  'add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'geluGrad', 'siluGrad', 'reluGrad',
];

/** Batched row-major GEMM: for each b < batch, C_b = alpha * op(A_b) @ op(B_b) + beta * C_b.
 *  op(A) is (M, K): A is stored (M, K) with row stride lda, or (K, M) when transA. Likewise op(B) is (K, N).
 *  A_b starts at aOffset + b * aBatchStride (a batch stride of 0 broadcasts one matrix over the batch).
 *  When beta == 0, C is not read (NaNs in C do not propagate). b may be bfloat16 bits (a stored weight), widened
 *  exactly to float32 while it is read: the result equals the GEMM on the widened values.
 *  bf16Dot (train.matmulPrecision 'bfloat16'): alpha * op(A) and a float32 op(B) are rounded to bfloat16 (round
 *  to nearest even, denormals to zero; a bfloat16 b is read as it is) and the products accumulate in fp32, as
 *  torch autocast does. */
export interface GemmArgs {
  transA: boolean; transB: boolean;
  M: number; N: number; K: number;
  alpha: number; beta: number;
  batch: number;
  a: Buf; aOffset: number; lda: number; aBatchStride: number;
  b: Buf | Bf16Buf; bOffset: number; ldb: number; bBatchStride: number;
  c: Buf; cOffset: number; ldc: number; cBatchStride: number;
  bf16Dot?: boolean;
  /** A promise that op(A) is zero on one side of a diagonal, so kernels may skip those terms (the result is the
   *  same): 'lower': op(A)[i][k] = 0 for k > i + triangleOffset (causal attention's probabilities); 'upper':
   *  op(A)[i][k] = 0 for k < i - triangleOffset (their transpose). */
  triangle?: 'lower' | 'upper';
  triangleOffset?: number;
  /** Only C[i][j] with j <= i + cLowerOffset is wanted (causal attention's scores and their gradient): kernels may
   *  write the elements past that diagonal as zeros instead of computing them (each is then 0 or the product). */
  cLowerOffset?: number;
  /** Added to every row of C after alpha op(A) op(B) + beta C (linear's bias): N values, a float32 buffer on
   *  cpu-native. */
  bias?: Buf;
}

/** The (rows, hs) matrices of one attention operand inside buf, one per (batch b, kv head h): row r of (b, h)
 *  starts at offset + b * bStride + h * hStride + r * ld, its hs values contiguous. */
export interface AttnHeads { buf: Buf; offset: number; ld: number; hStride: number; bStride: number }

/** Scaled-dot-product attention over B batches of nkv kv heads. Each kv head serves GT / T query heads (GQA, as
 *  HF's repeat_kv), whose rows are read as one matrix of GT query rows; k and v have Tk rows, all of width hs
 *  (>= 1; T, Tk >= 1). Query row r sits at position r % T and, when causal (then Tk >= T), sees keys
 *  j <= r % T + Tk - T. stats (B * nkv * GT * 2 values) holds, per query row, the max of its scaled scores and
 *  1 / the sum of their exps: written by attention, read by attentionBackward. */
export interface AttentionArgs {
  B: number; nkv: number; GT: number; T: number; Tk: number; hs: number; scale: number; causal: boolean;
  q: AttnHeads; k: AttnHeads; v: AttnHeads;
  stats: Buf;
}

/** Precision of the GEMMs of matmul, linear and the LM-head loss: 'float32' (exact products; a bfloat16 weight is
 *  widened); 'bfloat16' rounds both operands to bfloat16 with fp32 accumulation (GemmArgs.bf16Dot). */
export type MatmulPrecision = 'float32' | 'bfloat16';

export interface Backend {
  readonly name: BackendName;
  /** False for meta: buffers have a logical size but no memory, kernels do nothing and reads give NaN. */
  readonly holdsData: boolean;
  supports(dtype: DType): boolean;
  alloc(dtype: DType, n: number): Buf;
  /** n zeroed bfloat16 bit patterns: a bf16 weight's storage (empty on meta). */
  allocBits(n: number): Bf16Buf;
  /** dst[0..n) = src[0..n) rounded to bfloat16 bits (round to nearest even; NaN stays NaN), as util/bf16.ts. */
  castBf16(src: Buf, dst: Bf16Buf, n: number): void;
  /** dst[0..n) = the float32 values of bfloat16 bits src[0..n) (exact). */
  widenBf16(src: Bf16Buf, dst: Buf, n: number): void;

  /** buf[i] (NaN on meta). */
  read(buf: Buf, i: number): number;
  /** buf[offset + k] = values[k] for every k. */
  write(buf: Buf, offset: number, values: ArrayLike<number>): void;
  /** Sum of x[0..n), accumulated in float64 in index order. */
  sum(x: Buf, n: number): number;

  /** dst[dstOffset + sum(i_k * dstStrides_k)] = src[srcOffset + sum(i_k * srcStrides_k)] over every index of shape. */
  copyStrided(src: Buf, srcOffset: number, srcStrides: readonly number[],
    dst: Buf, dstOffset: number, dstStrides: readonly number[], shape: readonly number[]): void;
  fill(out: Buf, value: number): void;

  unary(op: UnaryOp, x: Buf, out: Buf, n: number, alpha: number, beta: number): void;
  /** Broadcasting binary op: a and b are read through strides (0 on broadcast dims) into contiguous out of shape.
   *  out may alias a or b only when that input is contiguous with the full shape. */
  binary(op: BinaryOp, a: Buf, aOffset: number, aStrides: readonly number[],
    b: Buf, bOffset: number, bStrides: readonly number[], out: Buf, shape: readonly number[]): void;
  /** Sums contiguous x of shape over the dims where keep[d] is false; out is contiguous with those dims of size 1. */
  sumReduce(x: Buf, shape: readonly number[], keep: readonly boolean[], out: Buf): void;
  /** Sum of squares of x[0..n). Accumulates in float64. */
  sumSquares(x: Buf, n: number): number;

  gemm(args: GemmArgs): void;

  /** Row softmax over (rows, cols). causalT > 0 masks, in row r, the columns c > (r % causalT) + cols - causalT
   *  (a query at position r % causalT sees keys up to its own position; the key axis may be longer, as with
   *  a KV cache). Masked entries of out are exactly 0. */
  softmax(x: Buf, out: Buf, rows: number, cols: number, causalT: number): void;
  /** dx = y * (g - sum(g * y)) per row. */
  softmaxBackward(y: Buf, g: Buf, dx: Buf, rows: number, cols: number): void;

  /** out = softmax(scale q kᵀ, causal mask) v per query row; writes a.stats. No (T, Tk) matrix outlives the call. */
  attention(a: AttentionArgs, out: AttnHeads): void;
  /** The gradients of q, k and v (those not null; written, not accumulated) from g, the output's gradient, with
   *  the probabilities recomputed from a.stats: dV = Pᵀ g; dS = P (g Vᵀ - rowsum(P g Vᵀ)); dQ = scale dS K;
   *  dK = scale dSᵀ Q. */
  attentionBackward(a: AttentionArgs, g: AttnHeads, dq: AttnHeads | null, dk: AttnHeads | null, dv: AttnHeads | null): void;

  /** Per row: lse = logsumexp(logits); loss = lse - logits[target]; rows whose target == ignoreIndex get
   *  loss 0. Writes losses (rows) and lse (rows). */
  crossEntropy(logits: Buf, targets: Int32Array, rows: number, V: number, ignoreIndex: number,
    losses: Buf, lse: Buf): void;
  /** dlogits = (softmax(logits) - onehot(target)) * scale[row] ; 0 for ignored rows. */
  crossEntropyBackward(logits: Buf, lse: Buf, targets: Int32Array, rows: number, V: number, ignoreIndex: number,
    scale: Buf, dlogits: Buf): void;

  /** y = (x - mean) * rstd * w + b over rows of C; writes mean and rstd (rows). b may be null. */
  layerNorm(x: Buf, w: Buf, b: Buf | null, rows: number, C: number, eps: number, y: Buf, mean: Buf, rstd: Buf): void;
  /** Writes dx (if non-null); accumulates (+=) dw and db when non-null. */
  layerNormBackward(x: Buf, w: Buf, mean: Buf, rstd: Buf, gy: Buf, rows: number, C: number,
    dx: Buf | null, dw: Buf | null, db: Buf | null): void;
  /** y = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps). */
  rmsNorm(x: Buf, w: Buf, rows: number, C: number, eps: number, y: Buf, rstd: Buf): void;
  /** Writes dx (if non-null); accumulates (+=) dw when non-null. */
  rmsNormBackward(x: Buf, w: Buf, rstd: Buf, gy: Buf, rows: number, C: number, dx: Buf | null, dw: Buf | null): void;

  /** Rotary embedding on x of shape (outer, T, hs), contiguous. cos/sin are (T, hs/2).
   *  halfSplit: HF rotate-half layout, pairs (i, i + hs/2). Otherwise interleaved pairs (2i, 2i+1).
   *  inverse rotates by -theta (the backward). */
  rope(x: Buf, cos: Buf, sin: Buf, outer: number, T: number, hs: number, halfSplit: boolean, inverse: boolean,
    out: Buf): void;

  /** out[i, :] = weight[ids[i], :] for i < n; rows of C. A bfloat16 weight is widened to float32. */
  embedding(weight: Buf | Bf16Buf, ids: Int32Array, n: number, C: number, out: Buf): void;
  /** dweight[ids[i], :] += g[i, :]. */
  embeddingBackward(ids: Int32Array, g: Buf, n: number, C: number, dweight: Buf): void;

  /** In-place torch AdamW step on n elements; step is the 1-based step count after increment.
   *  p -= lr*wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
   *  p -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps). */
  adamw(p: Buf, g: Buf, m: Buf, v: Buf, n: number, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, step: number): void;
  /** adamw() on every tensor of `ts` in one call, each gradient read as g * gradScale (a clip coefficient; 1 for
   *  none), rounded to the buffer's precision as an in-place scaling of g would be. */
  adamwMany(ts: readonly AdamWTensor[], lr: number, beta1: number, beta2: number, eps: number, gradScale: number): void;
}

/** One tensor of a fused AdamW step: parameter, gradient and moments (n elements each). */
export interface AdamWTensor { p: Buf; g: Buf; m: Buf; v: Buf; n: number; weightDecay: number; step: number }
