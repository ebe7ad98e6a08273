// The AVX-512 kernel table: the exp-heavy kernels of the AVX2 table (exp, sigmoid, GELU, SiLU and their
// gradients, the row max and the exp sums of softmax and cross-entropy) sixteen lanes at a time, by the same
// Cephes polynomials and operation order, so each element gets the AVX2 table's bits (the exp sums' float64
// accumulation groups lanes differently). Every other entry is the AVX2 table's. Compiled for AVX-512F by a target
// pragma; used only when cpu_level() is Avx512.
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "cpu_features.h"
#include "kernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")

namespace lisa {
namespace avx512 {
#include "kernels_ew.h"

static inline __m512 set1(float v) { return _mm512_set1_ps(v); }
static inline __mmask16 tail(int64_t rem) { return static_cast<__mmask16>((1u << rem) - 1); }

// exp(x), as exp8 in kernels_avx2.cpp: x = n*ln2 + r, e^r by Cephes' degree-7 polynomial, 2^n in two halves.
static inline __m512 exp16(__m512 x) {
  const __m512 xc = _mm512_min_ps(_mm512_max_ps(x, set1(-104.0f)), set1(88.7228317f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, set1(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, set1(0.693359375f), xc);
  r = _mm512_fnmadd_ps(n, set1(-2.12194440e-4f), r);
  __m512 p = set1(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, set1(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, set1(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, set1(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, set1(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, set1(5.0000001201e-1f));
  __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), set1(1.0f));
  const __m512i ni = _mm512_cvtps_epi32(n);
  const __m512i n1 = _mm512_srai_epi32(ni, 1);
  const __m512i n2 = _mm512_sub_epi32(ni, n1);
  const __m512i bias = _mm512_set1_epi32(127);
  y = _mm512_mul_ps(y, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, bias), 23)));
  y = _mm512_mul_ps(y, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, bias), 23)));
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, set1(88.7228317f), _CMP_GT_OQ), y,
                           set1(std::numeric_limits<float>::infinity()));
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, set1(-104.0f), _CMP_LT_OQ), y, _mm512_setzero_ps());
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), y, x);
}

static inline __m512 abs16(__m512 x) { return _mm512_abs_ps(x); }

// For t = exp(-|z|) and d = 1/(1+t): sigmoid(z) = z >= 0 ? d : t*d.
static inline __m512 sig_select(__m512 z, __m512 t, __m512 d) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GE_OQ), _mm512_mul_ps(t, d), d);
}

static inline __m512 sigmoid16(__m512 x) {
  const __m512 t = exp16(_mm512_sub_ps(_mm512_setzero_ps(), abs16(x)));
  const __m512 d = _mm512_div_ps(set1(1.0f), _mm512_add_ps(set1(1.0f), t));
  return sig_select(x, t, d);
}

static inline __m512 gelu16(__m512 x) {
  const __m512 u = _mm512_mul_ps(set1(kGeluK), _mm512_fmadd_ps(_mm512_mul_ps(set1(kGeluC), x),
                                                               _mm512_mul_ps(x, x), x));
  return _mm512_mul_ps(x, sigmoid16(_mm512_add_ps(u, u)));
}

static inline __m512 gelu_grad16(__m512 x) {  // same formula as gelu_grad_s
  x = _mm512_max_ps(set1(-20.0f), _mm512_min_ps(set1(20.0f), x));  // operand order keeps NaN
  const __m512 x2 = _mm512_mul_ps(x, x);
  const __m512 u = _mm512_mul_ps(set1(kGeluK), _mm512_fmadd_ps(_mm512_mul_ps(set1(kGeluC), x2), x, x));
  const __m512 t = exp16(_mm512_mul_ps(set1(-2.0f), abs16(u)));
  const __m512 d = _mm512_div_ps(set1(1.0f), _mm512_add_ps(set1(1.0f), t));
  const __m512 s = sig_select(u, t, d);
  const __m512 du = _mm512_mul_ps(set1(kGeluK), _mm512_fmadd_ps(set1(3.0f * kGeluC), x2, set1(1.0f)));
  const __m512 sd = _mm512_mul_ps(_mm512_mul_ps(t, d), d);
  return _mm512_fmadd_ps(_mm512_mul_ps(_mm512_add_ps(x, x), sd), du, s);
}

static inline __m512 silu_grad16(__m512 x) {  // same formula as silu_grad_s
  const __m512 t = exp16(_mm512_sub_ps(_mm512_setzero_ps(), abs16(x)));
  const __m512 d = _mm512_div_ps(set1(1.0f), _mm512_add_ps(set1(1.0f), t));
  return _mm512_fmadd_ps(x, _mm512_mul_ps(_mm512_mul_ps(t, d), d), sig_select(x, t, d));
}

// out[i] = f(x[i]) sixteen lanes at a time; the tail through masked loads and stores.
template <class F>
static inline void vmap1(const float* x, float* out, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, f(_mm512_loadu_ps(x + i)));
  if (i < n) _mm512_mask_storeu_ps(out + i, tail(n - i), f(_mm512_maskz_loadu_ps(tail(n - i), x + i)));
}

// out[i] = b[i*sb] * f(a[i*sa]) for sa, sb in {0, 1}.
template <class F>
static inline void vmap_grad(const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n, F f) {
  auto load = [](const float* p, int64_t s, int64_t i, __mmask16 m) {
    return s == 0 ? _mm512_set1_ps(*p) : _mm512_maskz_loadu_ps(m, p + i);
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, _mm512_mul_ps(load(b, sb, i, 0xFFFF), f(load(a, sa, i, 0xFFFF))));
  if (i < n) {
    const __mmask16 m = tail(n - i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(load(b, sb, i, m), f(load(a, sa, i, m))));
  }
}

static const KernelTable* g_avx2 = nullptr;  // the entries not redone here

static void unary(int op, const float* x, float* out, int64_t n, double alpha, double beta) {
  switch (op) {
    case U_EXP: vmap1(x, out, n, exp16); break;
    case U_SIGMOID: vmap1(x, out, n, sigmoid16); break;
    case U_GELU: vmap1(x, out, n, gelu16); break;
    case U_SILU: vmap1(x, out, n, [](__m512 v) { return _mm512_mul_ps(v, sigmoid16(v)); }); break;
    default: g_avx2->unary(op, x, out, n, alpha, beta); break;
  }
}

static void binary(int op, const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n) {
  const bool unit = (sa == 0 || sa == 1) && (sb == 0 || sb == 1);
  if (unit && op == B_GELU_GRAD) vmap_grad(a, sa, b, sb, out, n, gelu_grad16);
  else if (unit && op == B_SILU_GRAD) vmap_grad(a, sa, b, sb, out, n, silu_grad16);
  else g_avx2->binary(op, a, sa, b, sb, out, n);
}

static float max(const float* x, int64_t n) {
  const float ninf = -std::numeric_limits<float>::infinity();
  __m512 m0 = set1(ninf), m1 = set1(ninf);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);  // operand order: a NaN element is skipped
    m1 = _mm512_max_ps(_mm512_loadu_ps(x + i + 16), m1);
  }
  float m = _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// Float64 sums: each 16-float vector is widened into two 8-double halves.
static inline __m512d lo8(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
static inline __m512d hi8(__m512 v) {
  return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

static double exp_sum(const float* x, float shift, float* out, int64_t n) {
  const __m512 sh = set1(shift);
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), sh));
    if (out) _mm512_storeu_ps(out + i, e);
    s0 = _mm512_add_pd(s0, lo8(e));
    s1 = _mm512_add_pd(s1, hi8(e));
  }
  if (i < n) {
    const __mmask16 m = tail(n - i);
    const __m512 e = _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), sh)));
    if (out) _mm512_mask_storeu_ps(out + i, m, e);
    s0 = _mm512_add_pd(s0, lo8(e));
    s1 = _mm512_add_pd(s1, hi8(e));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

static void exp_scale(const float* x, float shift, float scale, float* out, int64_t n) {
  const __m512 sh = set1(shift), sc = set1(scale);
  vmap1(x, out, n, [sh, sc](__m512 v) { return _mm512_mul_ps(exp16(_mm512_sub_ps(v, sh)), sc); });
}
static void acc_f64(double* acc, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    _mm512_storeu_pd(acc + i, _mm512_add_pd(_mm512_loadu_pd(acc + i), lo));
    _mm512_storeu_pd(acc + i + 8, _mm512_add_pd(_mm512_loadu_pd(acc + i + 8), hi));
  }
  for (; i < n; ++i) acc[i] += static_cast<double>(x[i]);
}
}  // namespace avx512

const KernelTable* avx512_table() {
  static const KernelTable table = [] {
    avx512::g_avx2 = avx2_table();
    KernelTable t = *avx512::g_avx2;
    t.name = "avx512";
    t.unary = avx512::unary;
    t.binary = avx512::binary;
    t.max = avx512::max;
    t.exp_sum = avx512::exp_sum;
    t.exp_scale = avx512::exp_scale;
    t.acc_f64 = avx512::acc_f64;
    return t;
  }();
  return &table;
}
}  // namespace lisa
#pragma GCC pop_options
