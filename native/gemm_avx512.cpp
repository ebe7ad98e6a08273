// AVX-512 parts of the built-in GEMM (compiled for AVX-512F/BW/VL by a target pragma; only called when
// cpu_level() is Avx512): an 8x48 register-tiled micro-kernel (24 zmm accumulators, 3 B loads and 8 broadcast
// FMAs per row per k step; 8x16 and 8x32 variants for a narrow last panel) with blocking for Zen 5's caches, and the packing for its 8-row A and 48-column B
// panels, from float32 or bfloat16 B (widened in registers as it is packed).
// The portable versions in gemm_blocked.cpp are the reference; test/backends/gemm-native.test.ts compares them.
#include <immintrin.h>

#include <algorithm>

#include "gemm_impl.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,fma")
#include "gemm_x86.h"

namespace lisa {
namespace {
constexpr int kMR5 = 8;   // tile rows
constexpr int kNV5 = 3;   // zmm vectors per tile row
constexpr int kNR5 = 16 * kNV5;

// C tile = Ap^T Bp (+ beta C) over the first 16*NV columns of a 48-column B panel. Per k step: NV B vectors, then
// for each of the 8 rows one broadcast of A and NV FMAs. NV = 3 (the full tile): 24 accumulators + 3 B vectors
// + 1 broadcast fit in the 32 zmm registers; two FMA pipes of latency 4 need >= 8 independent chains, and 24
// leave room for load latency. NV = 1, 2 serve a last panel of <= 16 or <= 32 columns (attention's head size
// 64 = 48 + 16), which the full tile would compute at a third or two thirds of its rate.
template <int NV>
void kernel_8xv(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float beta) {
  __m512 acc[kMR5][NV];
#pragma GCC unroll 8
  for (int r = 0; r < kMR5; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int r = 0; r < kMR5; ++r) _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    _mm_prefetch(reinterpret_cast<const char*>(Ap + 64), _MM_HINT_T0);
    __m512 b[NV];
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) b[v] = _mm512_load_ps(Bp + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < kMR5; ++r) {
      const __m512 a = _mm512_set1_ps(Ap[r]);
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
    }
    Ap += kMR5;
    Bp += kNR5;
  }
  const __m512 bv = _mm512_set1_ps(beta);
#pragma GCC unroll 8
  for (int r = 0; r < kMR5; ++r) {
    float* cr = C + r * ldc;
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) {
      __m512 out = acc[r][v];
      if (beta == 1.0f) out = _mm512_add_ps(out, _mm512_loadu_ps(cr + 16 * v));
      else if (beta != 0.0f) out = _mm512_fmadd_ps(bv, _mm512_loadu_ps(cr + 16 * v), out);
      _mm512_storeu_ps(cr + 16 * v, out);
    }
  }
}

// alpha * op(A)[i0 : i0+mc, k0 : k0+kc] -> panels of kc steps x 8 rows.
void pack_a_avx512(bool transA, const float* A, int64_t lda, int64_t i0, int64_t k0, int64_t mc, int64_t kc,
                   float alpha, float* Ap) {
  const __m256 av = _mm256_set1_ps(alpha);
  const bool scale = alpha != 1.0f;
  for (int64_t ip = 0; ip < mc; ip += kMR5) {
    const int64_t mr = std::min<int64_t>(kMR5, mc - ip);
    float* dst = Ap + ip * kc;
    if (transA) {  // A is (K, M): each k step is mr contiguous floats
      const __mmask8 mask = static_cast<__mmask8>((1u << mr) - 1);
      const float* src = A + k0 * lda + i0 + ip;
      for (int64_t k = 0; k < kc; ++k) {
        __m256 v = _mm256_maskz_loadu_ps(mask, src + k * lda);
        _mm256_store_ps(dst + k * kMR5, scale ? _mm256_mul_ps(v, av) : v);
      }
      continue;
    }
    // A is (M, K): 8 rows, 8 k steps at a time, through a transpose.
    const float* rows[kMR5];
    for (int r = 0; r < kMR5; ++r) rows[r] = A + (i0 + ip + std::min<int64_t>(r, mr - 1)) * lda + k0;
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      __m256 v[8];
      for (int r = 0; r < kMR5; ++r) v[r] = r < mr ? _mm256_loadu_ps(rows[r] + k) : _mm256_setzero_ps();
      transpose8(v);
      for (int t = 0; t < 8; ++t) _mm256_store_ps(dst + (k + t) * kMR5, scale ? _mm256_mul_ps(v[t], av) : v[t]);
    }
    for (; k < kc; ++k)
      for (int r = 0; r < kMR5; ++r) dst[k * kMR5 + r] = r < mr ? alpha * rows[r][k] : 0.0f;
  }
}

// 16 values of B at p as floats (n < 16: the first n, zeros after): float32 as is, bfloat16 widened exactly.
inline __m512 load16(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
inline __m512 load16(const uint16_t* p, __mmask16 m) {
  const __m256i h = _mm256_maskz_loadu_epi16(m, p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// op(B)[k0 : k0+kc, j0 : j0+nc] -> panels of kc steps x 48 columns, for B of element type T (float or bfloat16).
template <typename T>
void pack_b_t(bool transB, const T* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc, float* Bp) {
  if (!transB) {
    // B is (K, N): each k step of a panel is up to 48 contiguous values. Four panels at a time, so each row is
    // read 192 contiguous values per visit (whole cache lines, few pages) while only four write streams are open.
    constexpr int64_t kGroup = 4 * kNR5;
    for (int64_t jg = 0; jg < nc; jg += kGroup) {
      const int64_t je = std::min(nc, jg + kGroup);
      for (int64_t k = 0; k < kc; ++k) {
        const T* src = B + (k0 + k) * ldb + j0;
        for (int64_t jp = jg; jp < je; jp += kNR5) {
          float* dst = Bp + jp * kc + k * kNR5;
          if (je - jp >= kNR5) {
            for (int v = 0; v < kNV5; ++v) _mm512_store_ps(dst + 16 * v, load16(src + jp + 16 * v, 0xffff));
            continue;
          }
          for (int v = 0; v < kNV5; ++v) {  // last, partial panel: zeros past nc
            const int64_t n = std::clamp<int64_t>(je - jp - 16 * v, 0, 16);
            _mm512_store_ps(dst + 16 * v, load16(src + jp + 16 * v, static_cast<__mmask16>((1u << n) - 1)));
          }
        }
      }
    }
    return;
  }
  for (int64_t jp = 0; jp < nc; jp += kNR5) {
    const int64_t nr = std::min<int64_t>(kNR5, nc - jp);
    float* dst = Bp + jp * kc;
    // B is (N, K): column j of op(B) is row j of B; 8 rows x 8 k steps, transposed (each row prefetched ahead).
    const T* rows[kNR5];
    for (int c = 0; c < kNR5; ++c) rows[c] = B + (j0 + jp + std::min<int64_t>(c, nr - 1)) * ldb + k0;
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      for (int h = 0; h < kNR5 / 8; ++h) {
        __m256 v[8];
        for (int r = 0; r < 8; ++r) {
          const int c = h * 8 + r;
          v[r] = c < nr ? load8(rows[c] + k) : _mm256_setzero_ps();
          if (c < nr) _mm_prefetch(reinterpret_cast<const char*>(rows[c] + k + 64), _MM_HINT_T0);
        }
        transpose8(v);
        for (int t = 0; t < 8; ++t) _mm256_store_ps(dst + (k + t) * kNR5 + h * 8, v[t]);
      }
    }
    for (; k < kc; ++k)
      for (int c = 0; c < kNR5; ++c) dst[k * kNR5 + c] = c < nr ? load1(rows[c][k]) : 0.0f;
  }
}

void pack_b_avx512(bool transB, const float* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                   float* Bp) {
  pack_b_t(transB, B, ldb, k0, j0, kc, nc, Bp);
}

void pack_b_bf16_avx512(bool transB, const uint16_t* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                        float* Bp) {
  pack_b_t(transB, B, ldb, k0, j0, kc, nc, Bp);
}
}  // namespace

// Blocking for Zen 5 (48 KiB L1d, 1 MiB L2 per core, 32 MiB L3): the B micro-panel (KC*48*4 = 24 KiB at
// KC = 128... see LISA_KC below) stays in L1 beside a 4 KiB A micro-panel; the packed A block (MC*KC*4) in L2.
GemmKernels avx512_kernels() {
  GemmKernels k{kernel_8xv<kNV5>, pack_a_avx512, pack_b_avx512, "avx512", pack_b_bf16_avx512};
  k.mr = kMR5, k.nr = kNR5;
  k.narrow[0] = kernel_8xv<1>, k.narrow[1] = kernel_8xv<2>;
  k.mc = 192, k.kc = 192, k.nc = 3072;
  return k;
}
}  // namespace lisa
#pragma GCC pop_options
