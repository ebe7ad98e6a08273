// bf16 dot-product GEMM (train.matmulPrecision 'bfloat16', torch autocast semantics): A (float32) and B (float32,
// or a bfloat16 weight read as it is) are rounded to bfloat16 (RNE) while they are packed, and C accumulates in
// fp32 through vdpbf16ps: per 32-bit lane, acc += a[2p+1] * b[2p+1], then acc += a[2p] * b[2p], each add rounded
// to nearest even, with bfloat16 denormal inputs read as zero and denormal results flushed to zero. Packed panels
// hold bfloat16 pairs (k = 2p, 2p+1) per 32-bit word: 8 rows of A and 48 columns of B per pair. Without
// AVX512_BF16 the same packing and the same arithmetic, step by step, run in plain C++ (an exact emulation: the
// results do not depend on the ISA).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu_features.h"
#include "gemm_impl.h"

namespace lisa {
namespace {
constexpr int kMRd = 8, kNRd = 48, kNVd = 3;

inline uint32_t pair(uint16_t lo, uint16_t hi) { return static_cast<uint32_t>(lo) | static_cast<uint32_t>(hi) << 16; }
inline uint32_t* words(float* p) { return reinterpret_cast<uint32_t*>(p); }

// ---- portable packing and the emulated kernel ----

// A source value as bfloat16 bits: a float32 (alpha * v) rounded as vcvtneps2bf16 rounds it; bfloat16 bits as they
// are (a bf16 operand is never scaled: alpha only reaches A, which is float32).
inline uint16_t to_bf16(float v, float alpha) { return f32_to_bf16_rne(alpha * v); }
inline uint16_t to_bf16(uint16_t h, float) { return h; }

// Packs W-wide panels of pairs from S: element (r, k) of the packed operand is S[r*ld + k] when k_contig, else
// S[k*ld + r], for r in [r0, r0+n), k in [k0, k0+kc); panel ip holds ceil(kc/2) pairs of W values (zero past n, kc).
// A is (W = 8, k_contig = !transA); B is (W = 48, k_contig = transB).
template <int W, typename T>
void pack_pairs_emu(bool k_contig, const T* S, int64_t ld, int64_t r0, int64_t k0, int64_t n, int64_t kc, float alpha,
                    float* dstp) {
  const int64_t kp = (kc + 1) / 2;
  for (int64_t ip = 0; ip < n; ip += W) {
    uint32_t* dst = words(dstp) + ip * kp;
    for (int64_t p = 0; p < kp; ++p) {
      for (int64_t r = 0; r < W; ++r) {
        uint16_t h[2] = {0, 0};
        for (int q = 0; q < 2; ++q) {
          const int64_t i = r0 + ip + r, k = k0 + 2 * p + q;
          if (ip + r < n && 2 * p + q < kc) h[q] = to_bf16(k_contig ? S[i * ld + k] : S[k * ld + i], alpha);
        }
        dst[p * W + r] = pair(h[0], h[1]);
      }
    }
  }
}

void pack_a_emu(bool transA, const float* A, int64_t lda, int64_t i0, int64_t k0, int64_t mc, int64_t kc,
                float alpha, float* Ap) {
  pack_pairs_emu<kMRd>(!transA, A, lda, i0, k0, mc, kc, alpha, Ap);
}
// B float32 (rounded) or bfloat16 (as it is).
template <typename T>
void pack_b_emu(bool transB, const T* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc, float* Bp) {
  pack_pairs_emu<kNRd>(transB, B, ldb, j0, k0, nc, kc, 1.0f, Bp);
}

// bfloat16 bits -> float32 with denormals read as zero (vdpbf16ps's DAZ).
inline float bf16_daz(uint32_t h) {
  const uint32_t u = (h & 0x7f80u) == 0 ? (h & 0x8000u) << 16 : h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
// Denormal results flushed to signed zero (FTZ).
inline float ftz(float x) { return std::fabs(x) < 1.17549435e-38f ? std::copysign(0.0f, x) : x; }

template <int Dummy>
inline void kernel_emu_body(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float beta) {
  const int64_t kp = (kc + 1) / 2;
  const uint32_t* a = reinterpret_cast<const uint32_t*>(Ap);
  const uint32_t* b = reinterpret_cast<const uint32_t*>(Bp);
  float acc[kMRd][kNRd] = {};
  float blo[kNRd], bhi[kNRd];
  for (int64_t p = 0; p < kp; ++p, a += kMRd, b += kNRd) {
    for (int c = 0; c < kNRd; ++c) {
      blo[c] = bf16_daz(b[c] & 0xffffu);
      bhi[c] = bf16_daz(b[c] >> 16);
    }
    for (int r = 0; r < kMRd; ++r) {
      const float alo = bf16_daz(a[r] & 0xffffu), ahi = bf16_daz(a[r] >> 16);
      for (int c = 0; c < kNRd; ++c) {
        const float t = ftz(std::fma(ahi, bhi[c], acc[r][c]));
        acc[r][c] = ftz(std::fma(alo, blo[c], t));
      }
    }
  }
  for (int r = 0; r < kMRd; ++r) {
    float* cr = C + r * ldc;
    for (int c = 0; c < kNRd; ++c) {
      float out = acc[r][c];
      if (beta == 1.0f) out += cr[c];
      else if (beta != 0.0f) out = std::fma(beta, cr[c], out);
      cr[c] = out;
    }
  }
}

void kernel_emu(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float beta) {
  kernel_emu_body<0>(kc, Ap, Bp, C, ldc, beta);
}
// The same code with the FMA instruction (std::fma is otherwise a library call); chosen on AVX2/FMA CPUs.
__attribute__((target("avx2,fma"))) void kernel_emu_fma(int64_t kc, const float* Ap, const float* Bp, float* C,
                                                         int64_t ldc, float beta) {
  kernel_emu_body<1>(kc, Ap, Bp, C, ldc, beta);
}
}  // namespace
}  // namespace lisa

// ---- AVX512_BF16 packing and kernel ----
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")
#include "gemm_x86.h"

namespace lisa {
namespace {
// C tile (8 x 48) = sum over pairs of A pair . B pair: 24 zmm accumulators, 3 B loads and 8 broadcasts a pair.
void kernel_dp(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float beta) {
  const int64_t kp = (kc + 1) / 2;
  const int32_t* a = reinterpret_cast<const int32_t*>(Ap);
  __m512 acc[kMRd][kNVd];
#pragma GCC unroll 8
  for (int r = 0; r < kMRd; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < kNVd; ++v) acc[r][v] = _mm512_setzero_ps();
#pragma GCC unroll 4
  for (int64_t p = 0; p < kp; ++p) {
    const __m512bh b0 = (__m512bh)_mm512_load_ps(Bp), b1 = (__m512bh)_mm512_load_ps(Bp + 16),
                   b2 = (__m512bh)_mm512_load_ps(Bp + 32);
#pragma GCC unroll 8
    for (int r = 0; r < kMRd; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(a[r]);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], av, b2);
    }
    a += kMRd;
    Bp += kNRd;
  }
  const __m512 bv = _mm512_set1_ps(beta);
#pragma GCC unroll 8
  for (int r = 0; r < kMRd; ++r) {
    float* cr = C + r * ldc;
#pragma GCC unroll 3
    for (int v = 0; v < kNVd; ++v) {
      __m512 out = acc[r][v];
      if (beta == 1.0f) out = _mm512_add_ps(out, _mm512_loadu_ps(cr + 16 * v));
      else if (beta != 0.0f) out = _mm512_fmadd_ps(bv, _mm512_loadu_ps(cr + 16 * v), out);
      _mm512_storeu_ps(cr + 16 * v, out);
    }
  }
}

// alpha * op(A) rounded to bfloat16 pairs (vcvtneps2bf16), panels of ceil(kc/2) pairs x 8 rows.
void pack_a_dp(bool transA, const float* A, int64_t lda, int64_t i0, int64_t k0, int64_t mc, int64_t kc, float alpha,
               float* Ap) {
  const int64_t kp = (kc + 1) / 2;
  const __m512 av = _mm512_set1_ps(alpha);
  for (int64_t ip = 0; ip < mc; ip += kMRd) {
    const int64_t mr = std::min<int64_t>(kMRd, mc - ip);
    float* dst = Ap + ip * kp;
    if (transA) {  // A is (K, M): rows 2p and 2p+1 of A give the pair's even and odd halves
      const __mmask16 mask = static_cast<__mmask16>((1u << mr) - 1);
      const float* src = A + k0 * lda + i0 + ip;
      for (int64_t p = 0; p < kp; ++p) {
        const __m512 e = _mm512_mul_ps(av, _mm512_maskz_loadu_ps(mask, src + 2 * p * lda));
        const __m512 o = 2 * p + 1 < kc ? _mm512_mul_ps(av, _mm512_maskz_loadu_ps(mask, src + (2 * p + 1) * lda))
                                        : _mm512_setzero_ps();
        // cvtne2ps: the second operand fills the low half; lanes 0..7 of e (low) and o (high), interleaved.
        const __m512i eo = (__m512i)_mm512_cvtne2ps_pbh(o, e);
        const __m256i lo = _mm512_castsi512_si256(eo), hi = _mm512_extracti64x4_epi64(eo, 1);
        const __m128i e8 = _mm256_castsi256_si128(lo), o8 = _mm256_castsi256_si128(hi);
        _mm_store_si128(reinterpret_cast<__m128i*>(dst + p * kMRd), _mm_unpacklo_epi16(e8, o8));
        _mm_store_si128(reinterpret_cast<__m128i*>(dst + p * kMRd + 4), _mm_unpackhi_epi16(e8, o8));
      }
      continue;
    }
    // A is (M, K): per row 16 k steps (8 pairs) rounded at once, then an 8x8 transpose of the 32-bit pairs.
    const float* rows[kMRd];
    for (int r = 0; r < kMRd; ++r) rows[r] = A + (i0 + ip + std::min<int64_t>(r, mr - 1)) * lda + k0;
    for (int64_t k = 0; k < kc; k += 16) {
      const __mmask16 km = static_cast<__mmask16>(kc - k >= 16 ? 0xffffu : (1u << (kc - k)) - 1);
      __m256 v[8];
      for (int r = 0; r < kMRd; ++r) {
        const __m512 x = r < mr ? _mm512_mul_ps(av, _mm512_maskz_loadu_ps(km, rows[r] + k)) : _mm512_setzero_ps();
        v[r] = _mm256_castsi256_ps((__m256i)_mm512_cvtneps_pbh(x));
      }
      transpose8(v);
      const int64_t np = std::min<int64_t>(8, kp - k / 2);
      for (int t = 0; t < np; ++t) _mm256_store_ps(dst + (k / 2 + t) * kMRd, v[t]);
    }
  }
}


// 16 values of row e (lanes 0-15) and of row o (lanes 16-31) as bfloat16 bits; a null row, and masked lanes, read
// as zero (never fault). float32 rows are rounded by one vcvtne2ps2bf16 (its second operand fills the low half).
inline __m512i load_rows16_bf16(const uint16_t* e, const uint16_t* o, __mmask16 m) {
  const __m256i lo = e ? _mm256_maskz_loadu_epi16(m, e) : _mm256_setzero_si256();
  const __m256i hi = o ? _mm256_maskz_loadu_epi16(m, o) : _mm256_setzero_si256();
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
inline __m512i load_rows16_bf16(const float* e, const float* o, __mmask16 m) {
  const __m512 lo = e ? _mm512_maskz_loadu_ps(m, e) : _mm512_setzero_ps();
  const __m512 hi = o ? _mm512_maskz_loadu_ps(m, o) : _mm512_setzero_ps();
  return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

// transpose8 (gemm_x86.h) on each 256-bit half of 8 zmm registers at once: two 8 x 8 transposes of 32-bit words.
inline void transpose8_halves(__m512 r[8]) {
  __m512 t[8], s[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {  // s0..s3 from t0..t3, s4..s7 from t4..t7, as in transpose8
    s[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    s[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // permute2f128 0x20 / 0x31 within each half: 128-bit lanes (a0, b0, a2, b2) / (a1, b1, a3, b3).
  const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
  const __m512i hi = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_permutex2var_ps(s[i], lo, s[i + 4]);
    r[i + 4] = _mm512_permutex2var_ps(s[i], hi, s[i + 4]);
  }
}
// vpermw indices: word 2j takes lane j (row 2p), word 2j+1 lane 16 + j (row 2p+1): 16 pairs.
alignas(64) constexpr uint16_t kInterleave16[32] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
                                                    8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};

// op(B) (float32 rounded to bfloat16, or bfloat16 bits) as pairs, panels of ceil(kc/2) pairs x 48 columns.
template <typename T>
void pack_b_dp(bool transB, const T* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc, float* Bp) {
  const int64_t kp = (kc + 1) / 2;
  for (int64_t jp = 0; jp < nc; jp += kNRd) {
    const int64_t nr = std::min<int64_t>(kNRd, nc - jp);
    float* dst = Bp + jp * kp;
    if (transB) {  // B is (N, K): each row's k steps are already pairs; 16 rows x 8 pairs, transposed
      const T* rows[kNRd];
      for (int c = 0; c < kNRd; ++c) rows[c] = B + (j0 + jp + std::min<int64_t>(c, nr - 1)) * ldb + k0;
      for (int64_t k = 0; k < kc; k += 16) {
        const __mmask16 km = static_cast<__mmask16>(kc - k >= 16 ? 0xffffu : (1u << (kc - k)) - 1);
        const int64_t np = std::min<int64_t>(8, kp - k / 2);
        for (int h = 0; h < kNRd / 16; ++h) {
          __m512 v[8];  // v[r]: the 8 pairs of column h*16 + r (low half) and of column h*16 + 8 + r (high half)
          for (int r = 0; r < 8; ++r) {
            const int c = h * 16 + r;
            v[r] = _mm512_castsi512_ps(load_rows16_bf16(c < nr ? rows[c] + k : nullptr, c + 8 < nr ? rows[c + 8] + k : nullptr, km));
          }
          transpose8_halves(v);  // v[t]: pair t of columns h*16 .. h*16 + 15
          for (int t = 0; t < np; ++t) _mm512_storeu_ps(dst + (k / 2 + t) * kNRd + h * 16, v[t]);
        }
      }
      continue;
    }
    // B is (K, N): rows 2p and 2p+1 interleaved, 16 columns at a time: both rows' 16 values as bfloat16 in one
    // register (row 2p low, 2p+1 high), then one vpermw into 16 pairs.
    const __m512i interleave = _mm512_loadu_si512(kInterleave16);
    for (int64_t p = 0; p < kp; ++p) {
      const T* e = B + (k0 + 2 * p) * ldb + j0 + jp;
      const T* o = 2 * p + 1 < kc ? e + ldb : nullptr;
      for (int c = 0; c < kNRd; c += 16) {
        const int64_t n = std::clamp<int64_t>(nr - c, 0, 16);
        const __mmask16 m = static_cast<__mmask16>((1u << n) - 1);
        const __m512i eo = load_rows16_bf16(e + c, o ? o + c : nullptr, m);
        _mm512_storeu_si512(dst + p * kNRd + c, _mm512_permutexvar_epi16(interleave, eo));
      }
    }
  }
}
}  // namespace
}  // namespace lisa
#pragma GCC pop_options

namespace lisa {
// Both variants share the tile and the k blocking (KC = 256: the 128 pairs of a 48-column B micro-panel are
// 24 KiB, in L1), so the emulation sums in exactly the hardware's order.
GemmKernels bf16dot_kernels() {
  GemmKernels k = cpu_use_avx512_bf16()
                      ? GemmKernels{kernel_dp, pack_a_dp, pack_b_dp<float>, "avx512-bf16dot", pack_b_dp<uint16_t>}
                      : GemmKernels{cpu_level() >= CpuLevel::Avx2 ? kernel_emu_fma : kernel_emu, pack_a_emu,
                                    pack_b_emu<float>, "bf16dot-emulated", pack_b_emu<uint16_t>};
  k.mr = kMRd, k.nr = kNRd, k.kunit = 2;
  k.mc = 192, k.kc = 256, k.nc = 3072;
  return k;
}
}  // namespace lisa
