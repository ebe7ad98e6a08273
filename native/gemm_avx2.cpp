// AVX2/FMA parts of the built-in GEMM (compiled with -mavx2 -mfma; only called after cpu_has_avx2_fma()):
// the 6x16 register-tiled micro-kernel (12 ymm accumulators, 2 B loads and 6 broadcasts per k step) and the
// packing routines, which use 8x8 in-register transposes for the strided cases (A not transposed, B transposed),
// and B's packing from bfloat16 bits (widened in registers as it is packed).
// The portable versions of the same three functions, in gemm_blocked.cpp, are their reference.
#include <immintrin.h>

#include <algorithm>

#include "gemm_impl.h"
#include "gemm_x86.h"

namespace lisa {
namespace {
static_assert(kMR == 6 && kNR == 16, "the AVX2 micro-kernel is written for a 6x16 tile");

// One k step of the 6x16 kernel at byte offsets A (6 floats) and B (16 floats): 2 B loads, 6 broadcasts, 12 FMAs.
// Accumulators: row r of the tile is ymm(4+2r) (columns 0-7) and ymm(5+2r) (columns 8-15).
#define LISA_K_STEP(A, B)                                                                      \
  "vmovaps " #B "(%[b]), %%ymm0\n\t"                                                           \
  "vmovaps " #B "+32(%[b]), %%ymm1\n\t"                                                        \
  "vbroadcastss " #A "(%[a]), %%ymm2\n\t"                                                      \
  "vbroadcastss " #A "+4(%[a]), %%ymm3\n\t"                                                    \
  "vfmadd231ps %%ymm0, %%ymm2, %%ymm4\n\t"                                                     \
  "vfmadd231ps %%ymm1, %%ymm2, %%ymm5\n\t"                                                     \
  "vfmadd231ps %%ymm0, %%ymm3, %%ymm6\n\t"                                                     \
  "vfmadd231ps %%ymm1, %%ymm3, %%ymm7\n\t"                                                     \
  "vbroadcastss " #A "+8(%[a]), %%ymm2\n\t"                                                    \
  "vbroadcastss " #A "+12(%[a]), %%ymm3\n\t"                                                   \
  "vfmadd231ps %%ymm0, %%ymm2, %%ymm8\n\t"                                                     \
  "vfmadd231ps %%ymm1, %%ymm2, %%ymm9\n\t"                                                     \
  "vfmadd231ps %%ymm0, %%ymm3, %%ymm10\n\t"                                                    \
  "vfmadd231ps %%ymm1, %%ymm3, %%ymm11\n\t"                                                    \
  "vbroadcastss " #A "+16(%[a]), %%ymm2\n\t"                                                   \
  "vbroadcastss " #A "+20(%[a]), %%ymm3\n\t"                                                   \
  "vfmadd231ps %%ymm0, %%ymm2, %%ymm12\n\t"                                                    \
  "vfmadd231ps %%ymm1, %%ymm2, %%ymm13\n\t"                                                    \
  "vfmadd231ps %%ymm0, %%ymm3, %%ymm14\n\t"                                                    \
  "vfmadd231ps %%ymm1, %%ymm3, %%ymm15\n\t"

// The micro-kernel. The k loop is inline assembly so that all 12 accumulators, both B vectors and two
// broadcasts live in the 16 ymm registers without the copies the compiler otherwise adds; the loop is
// unrolled by 4 and prefetches the A panel ahead. The tile then goes through a 64-byte aligned stack buffer
// into C (beta == 0: store; beta == 1: add; else beta * C + AB).
void kernel_6x16(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float beta) {
  alignas(64) float acc[kMR * kNR];
  for (int r = 0; r < kMR; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc + kNR - 1), _MM_HINT_T0);
  }
  int64_t k4 = kc / 4, k1 = kc % 4;
  __asm__ volatile(
      "vxorps %%ymm4, %%ymm4, %%ymm4\n\t"
      "vxorps %%ymm5, %%ymm5, %%ymm5\n\t"
      "vxorps %%ymm6, %%ymm6, %%ymm6\n\t"
      "vxorps %%ymm7, %%ymm7, %%ymm7\n\t"
      "vxorps %%ymm8, %%ymm8, %%ymm8\n\t"
      "vxorps %%ymm9, %%ymm9, %%ymm9\n\t"
      "vxorps %%ymm10, %%ymm10, %%ymm10\n\t"
      "vxorps %%ymm11, %%ymm11, %%ymm11\n\t"
      "vxorps %%ymm12, %%ymm12, %%ymm12\n\t"
      "vxorps %%ymm13, %%ymm13, %%ymm13\n\t"
      "vxorps %%ymm14, %%ymm14, %%ymm14\n\t"
      "vxorps %%ymm15, %%ymm15, %%ymm15\n\t"
      "test %[k4], %[k4]\n\t"
      "je 2f\n\t"
      ".p2align 5\n"
      "1:\n\t"
      "prefetcht0 384(%[a])\n\t"
      LISA_K_STEP(0, 0)
      LISA_K_STEP(24, 64)
      LISA_K_STEP(48, 128)
      LISA_K_STEP(72, 192)
      "add $96, %[a]\n\t"
      "add $256, %[b]\n\t"
      "dec %[k4]\n\t"
      "jne 1b\n"
      "2:\n\t"
      "test %[k1], %[k1]\n\t"
      "je 4f\n"
      "3:\n\t"
      LISA_K_STEP(0, 0)
      "add $24, %[a]\n\t"
      "add $64, %[b]\n\t"
      "dec %[k1]\n\t"
      "jne 3b\n"
      "4:\n\t"
      "vmovaps %%ymm4, (%[acc])\n\t"
      "vmovaps %%ymm5, 32(%[acc])\n\t"
      "vmovaps %%ymm6, 64(%[acc])\n\t"
      "vmovaps %%ymm7, 96(%[acc])\n\t"
      "vmovaps %%ymm8, 128(%[acc])\n\t"
      "vmovaps %%ymm9, 160(%[acc])\n\t"
      "vmovaps %%ymm10, 192(%[acc])\n\t"
      "vmovaps %%ymm11, 224(%[acc])\n\t"
      "vmovaps %%ymm12, 256(%[acc])\n\t"
      "vmovaps %%ymm13, 288(%[acc])\n\t"
      "vmovaps %%ymm14, 320(%[acc])\n\t"
      "vmovaps %%ymm15, 352(%[acc])\n\t"
      : [a] "+r"(Ap), [b] "+r"(Bp), [k4] "+r"(k4), [k1] "+r"(k1)
      : [acc] "r"(acc)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  if (beta == 0.0f) {
    for (int r = 0; r < kMR; ++r) {
      _mm256_storeu_ps(C + r * ldc, _mm256_load_ps(acc + r * kNR));
      _mm256_storeu_ps(C + r * ldc + 8, _mm256_load_ps(acc + r * kNR + 8));
    }
  } else if (beta == 1.0f) {
    for (int r = 0; r < kMR; ++r) {
      float* cr = C + r * ldc;
      _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), _mm256_load_ps(acc + r * kNR)));
      _mm256_storeu_ps(cr + 8, _mm256_add_ps(_mm256_loadu_ps(cr + 8), _mm256_load_ps(acc + r * kNR + 8)));
    }
  } else {
    const __m256 bv = _mm256_set1_ps(beta);
    for (int r = 0; r < kMR; ++r) {
      float* cr = C + r * ldc;
      _mm256_storeu_ps(cr, _mm256_fmadd_ps(bv, _mm256_loadu_ps(cr), _mm256_load_ps(acc + r * kNR)));
      _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(bv, _mm256_loadu_ps(cr + 8), _mm256_load_ps(acc + r * kNR + 8)));
    }
  }
}
#undef LISA_K_STEP

// alpha * op(A)[i0 : i0+mc, k0 : k0+kc] -> panels of kc steps x 6 rows. 8-float stores overlap the next step's
// first two floats (rewritten right after), hence kPackSlack.
void pack_a_avx2(bool transA, const float* A, int64_t lda, int64_t i0, int64_t k0, int64_t mc, int64_t kc,
                 float alpha, float* Ap) {
  const __m256 av = _mm256_set1_ps(alpha);
  const bool scale = alpha != 1.0f;
  for (int64_t ip = 0; ip < mc; ip += kMR) {
    const int64_t mr = std::min<int64_t>(kMR, mc - ip);
    float* dst = Ap + ip * kc;
    if (transA) {  // A is (K, M): each k step is mr contiguous floats
      const __m256i mask = lane_mask(mr);
      const float* src = A + k0 * lda + i0 + ip;
      for (int64_t k = 0; k < kc; ++k) {
        __m256 v = _mm256_maskload_ps(src + k * lda, mask);
        _mm256_storeu_ps(dst + k * kMR, scale ? _mm256_mul_ps(v, av) : v);
      }
      continue;
    }
    // A is (M, K): gather 6 rows, 8 k steps at a time, through a transpose.
    const float* rows[kMR];
    for (int r = 0; r < kMR; ++r) rows[r] = A + (i0 + ip + std::min<int64_t>(r, mr - 1)) * lda + k0;
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      __m256 v[8];
      for (int r = 0; r < kMR; ++r) v[r] = r < mr ? _mm256_loadu_ps(rows[r] + k) : _mm256_setzero_ps();
      v[6] = v[7] = _mm256_setzero_ps();
      transpose8(v);
      for (int t = 0; t < 8; ++t) _mm256_storeu_ps(dst + (k + t) * kMR, scale ? _mm256_mul_ps(v[t], av) : v[t]);
    }
    for (; k < kc; ++k)
      for (int r = 0; r < kMR; ++r) dst[k * kMR + r] = r < mr ? alpha * rows[r][k] : 0.0f;
  }
}

// op(B)[k0 : k0+kc, j0 : j0+nc] -> panels of kc steps x 16 columns.
// Panels of op(B) when B is stored (N, K) (transB): column j of op(B) is row j of B. Loads (and widens) 8 rows
// x 8 k steps, then transposes them.
template <typename T>
void pack_b_rows(const T* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc, float* Bp) {
  for (int64_t jp = 0; jp < nc; jp += kNR) {
    const int64_t nr = std::min<int64_t>(kNR, nc - jp);
    float* dst = Bp + jp * kc;
    const T* rows[kNR];
    for (int c = 0; c < kNR; ++c) rows[c] = B + (j0 + jp + std::min<int64_t>(c, nr - 1)) * ldb + k0;
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      for (int h = 0; h < 2; ++h) {
        __m256 v[8];
        for (int r = 0; r < 8; ++r) {
          const int c = h * 8 + r;
          v[r] = c < nr ? load8(rows[c] + k) : _mm256_setzero_ps();
        }
        transpose8(v);
        for (int t = 0; t < 8; ++t) _mm256_store_ps(dst + (k + t) * kNR + h * 8, v[t]);
      }
    }
    for (; k < kc; ++k)
      for (int c = 0; c < kNR; ++c) dst[k * kNR + c] = c < nr ? load1(rows[c][k]) : 0.0f;
  }
}

void pack_b_avx2(bool transB, const float* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                 float* Bp) {
  if (!transB) {
    // B is (K, N): each k step of a panel is 16 contiguous floats. Four panels at a time, so each row is read
    // 256 contiguous bytes per visit while only four write streams are open (panels are 16*kc floats apart,
    // which alias in L1 when many are written at once).
    constexpr int64_t kGroup = 4 * kNR;
    const int64_t full = nc / kNR * kNR;
    for (int64_t jg = 0; jg < full; jg += kGroup) {
      const int64_t je = std::min(full, jg + kGroup);
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = B + (k0 + k) * ldb + j0;
        float* dst = Bp + k * kNR;
        for (int64_t jp = jg; jp < je; jp += kNR) {
          _mm256_store_ps(dst + jp * kc, _mm256_loadu_ps(src + jp));
          _mm256_store_ps(dst + jp * kc + 8, _mm256_loadu_ps(src + jp + 8));
        }
      }
    }
    if (full < nc) {  // last, partial panel: masked loads, zeros past nc
      const __m256i m0 = lane_mask(nc - full), m1 = lane_mask(nc - full - 8);
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = B + (k0 + k) * ldb + j0 + full;
        float* dst = Bp + full * kc + k * kNR;
        _mm256_store_ps(dst, _mm256_maskload_ps(src, m0));
        _mm256_store_ps(dst + 8, _mm256_maskload_ps(src + 8, m1));
      }
    }
    return;
  }
  pack_b_rows(B, ldb, k0, j0, kc, nc, Bp);
}

// pack_b_avx2 for bfloat16 B: the same panels, each value widened as it is packed.
void pack_b_bf16_avx2(bool transB, const uint16_t* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                      float* Bp) {
  if (!transB) {
    // B is (K, N): each k step of a full panel is 16 contiguous values.
    const int64_t full = nc / kNR * kNR;
    for (int64_t k = 0; k < kc; ++k) {
      const uint16_t* src = B + (k0 + k) * ldb + j0;
      float* dst = Bp + k * kNR;
      for (int64_t jp = 0; jp < full; jp += kNR) {
        _mm256_store_ps(dst + jp * kc, load8(src + jp));
        _mm256_store_ps(dst + jp * kc + 8, load8(src + jp + 8));
      }
      for (int64_t c = 0; c < kNR && full < nc; ++c) {  // last, partial panel: zeros past nc
        dst[full * kc + c] = full + c < nc ? bf16_to_f32(src[full + c]) : 0.0f;
      }
    }
    return;
  }
  pack_b_rows(B, ldb, k0, j0, kc, nc, Bp);
}
}  // namespace

// Blocking tuned for Zen 3 (32 KiB L1d, 512 KiB L2 per core, 32 MiB L3): the B micro-panel (KC*16*4 = 16 KiB)
// stays in L1 beside an A micro-panel (6 KiB); the packed A block (MC*KC*4 = 144 KiB) in L2.
GemmKernels avx2_kernels() {
  GemmKernels k{kernel_6x16, pack_a_avx2, pack_b_avx2, "avx2", pack_b_bf16_avx2};
  k.mc = 144, k.kc = 256, k.nc = 3072;
  return k;
}
}  // namespace lisa
