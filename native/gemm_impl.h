// Internal GEMM interface shared by gemm.cpp (N-API binding and dispatch), gemm_blocked.cpp (BLIS-style driver,
// portable packing and micro-kernel), gemm_avx2.cpp (AVX2/FMA packing and micro-kernel) and gemm_ref.cpp (naive
// reference). Everything is row-major float32; element offsets are already applied to the pointers.
#pragma once
#include <cstdint>

namespace lisa {
// One product: C = alpha * op(A) @ op(B) + beta * C with op(A) (M, K) and op(B) (K, N). A is stored (M, K) with
// row stride lda, or (K, M) when transA; B is stored (K, N), or (N, K) when transB. beta == 0: C is not read.
// When Bh is set, B is bfloat16 bits (a stored weight; B is then unused): every implementation widens it exactly
// to float32 as it reads it (into packing buffers or small panels, never a copy of the whole matrix).
struct GemmArgs {
  bool transA, transB;
  int64_t M, N, K;
  float alpha, beta;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  const uint16_t* Bh = nullptr;
  float* C;
  int64_t ldc;
  // A promise that op(A) is zero on one side of a diagonal (causal attention's probabilities and their
  // transpose), so the built-in driver skips those k steps; the result is the same. kTriLower: op(A)[i][k] == 0
  // for k > i + tri_off; kTriUpper: op(A)[i][k] == 0 for k < i - tri_off.
  int tri = 0;
  int64_t tri_off = 0;
  // >= 0: only C[i][j] with j <= i + c_lower_off is wanted (causal attention's scores and their gradient); the
  // built-in driver writes register tiles wholly past that diagonal as zeros instead of computing them.
  int64_t c_lower_off = -1;
  // When set: C += bias[j] on every row after alpha op(A) op(B) + beta C (linear's bias; N floats).
  const float* bias = nullptr;
};
constexpr int kTriNone = 0, kTriLower = 1, kTriUpper = 2;

// `batch` products; product b uses A + b*strideA, B + b*strideB, C + b*strideC (stride 0 broadcasts).
struct GemmBatch {
  GemmArgs g;
  int64_t batch, strideA, strideB, strideC;
};

// Register tile of the AVX2 and portable kernels: MR rows of C by NR columns (the AVX-512 kernels have their own,
// given in GemmKernels; the driver reads the tile from there).
constexpr int kMR = 6;
constexpr int kNR = 16;
// Largest tile of any kernel (the driver's edge-tile scratch).
constexpr int kMaxTile = 16 * 64;

// C[0:MR, 0:NR] (row stride ldc) = Ap^T Bp + beta * C, where Ap holds kc steps of MR values of op(A) (one
// column of the tile's rows per step) and Bp kc steps of NR values of op(B). beta == 0: C is not read.
// Kernels whose packed values are bfloat16 pairs (kunit == 2) read ceil(kc/2) steps of MR (NR) 32-bit words.
using MicroKernel = void (*)(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float beta);
// Packs alpha * op(A)[i0 : i0+mc, k0 : k0+kc] into ceil(mc/MR) panels of kc*MR floats (rows past mc are zero).
// May write up to kPackSlack floats past the last panel.
using PackA = void (*)(bool transA, const float* A, int64_t lda, int64_t i0, int64_t k0, int64_t mc, int64_t kc,
                       float alpha, float* Ap);
// Packs op(B)[k0 : k0+kc, j0 : j0+nc] into ceil(nc/NR) panels of kc*NR floats (columns past nc are zero).
using PackB = void (*)(bool transB, const float* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                       float* Bp);
constexpr int64_t kPackSlack = 64;
// The same packing from bfloat16 B (bits), each value widened exactly to float32 as it is packed (or, for the
// bf16 dot-product kernels, kept as bfloat16 pairs).
using PackBh = void (*)(bool transB, const uint16_t* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                        float* Bp);

struct GemmKernels {
  MicroKernel kernel;
  PackA pack_a;
  PackB pack_b;       // float32 B (the bf16 dot-product kernels round it to bfloat16 pairs)
  const char* name;   // "avx512", "avx2", "portable", "avx512-bf16dot", "bf16dot-emulated"
  PackBh pack_b_bf16;
  int mr = kMR, nr = kNR;
  int kunit = 1;      // k steps per packed 32-bit word: 1 (float32), 2 (bfloat16 pairs)
  // Optional: narrow[i] computes only the first 16*(i+1) columns of a tile (its B panel still NR wide), for a
  // last panel of at most that many columns; null where the full kernel serves.
  MicroKernel narrow[2] = {nullptr, nullptr};
  // Cache blocking: MC rows of A (an MC x KC block stays in L2), KC depth, NC columns of B (KC x NC in L3).
  int64_t mc = 144, kc = 256, nc = 3072;
};

// Exact bfloat16 -> float32 (the bits are the top half of a float32).
inline float bf16_to_f32(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

// Widens op(B)[k0 : k0+kc, j0 : j0+nc] of bfloat16 B (stored layout kept: (nc, kc) when transB, else (kc, nc),
// rows contiguous) into dst, exactly; returns dst's row stride (gemm_blocked.cpp).
int64_t widen_bf16_block(bool transB, const uint16_t* Bh, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                         float* dst);

GemmKernels portable_kernels();  // gemm_blocked.cpp
GemmKernels avx2_kernels();      // gemm_avx2.cpp: only call when cpu_level() >= Avx2
GemmKernels avx512_kernels();    // gemm_avx512.cpp: only call when cpu_level() == Avx512
// bf16 dot-product GEMM (A and a float32 B rounded to bfloat16 with RNE while packing, a bfloat16 B read as it is,
// fp32 accumulation):
// vdpbf16ps when cpu_use_avx512_bf16(), else an exact emulation of its arithmetic (gemm_bf16dot.cpp).
GemmKernels bf16dot_kernels();
// Rounds float32 to bfloat16 bits as vcvtneps2bf16 does: denormals to signed zero, NaN quietened, else RNE.
inline uint16_t f32_to_bf16_rne(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0) return static_cast<uint16_t>((u >> 16) & 0x8000u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// C = alpha op(A) op(B) + beta C (with g's hints and bias) on the calling thread only, with kernels kr; M, N, K >= 1
// (gemm_blocked.cpp). For callers that run their own small products in parallel tasks (fused attention).
void gemm_serial(const GemmArgs& g, const GemmKernels& kernels);
// The built-in kernels such a caller uses: the ISA setGemmImpl names (avx512, avx2, portable), else the widest
// cpu_level() allows (gemm.cpp).
GemmKernels serial_gemm_kernels();
// Built-in GEMM over the thread pool. Requires M, N, K >= 1 and alpha != 0 (gemm.cpp handles the rest).
void gemm_blocked(const GemmBatch& p, const GemmKernels& kernels);
// Naive triple loop with a double accumulator (gemm_ref.cpp). Handles every size, including K == 0. round_a:
// A and a float32 B are rounded to bfloat16 (f32_to_bf16_rne) first, the bf16 dot-product GEMM's input rounding.
void gemm_reference(const GemmBatch& p, bool round_a = false);
}  // namespace lisa
