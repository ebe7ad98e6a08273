// The AVX2/FMA kernel table: hand-vectorized exp/tanh/sigmoid (Cephes polynomials) for the exp-heavy rows and
// float64-accumulated reductions; everything else is kernels_ew.h auto-vectorized for AVX2. Compiled with
// -mavx2 -mfma and used only after cpu_has_avx2(); kernels_portable.cpp is its reference.
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels.h"

namespace lisa {
namespace avx2 {
#include "kernels_ew.h"

static inline __m256 set1(float v) { return _mm256_set1_ps(v); }

// Lane mask for the first `rem` (0..8) lanes, for masked loads/stores of a row's tail.
static inline __m256i tail_mask(int64_t rem) {
  alignas(32) static const int32_t bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bits + 8 - rem));
}

// exp(x), about 1 ulp: x = n*ln2 + r, |r| <= ln2/2, e^r by Cephes' degree-7 polynomial, 2^n applied in two
// halves so results down to the denormals are right. Overflow gives inf, x < -104 gives 0, NaN stays NaN.
static inline __m256 exp8(__m256 x) {
  const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, set1(-104.0f)), set1(88.7228317f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, set1(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, set1(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, set1(-2.12194440e-4f), r);
  __m256 p = set1(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, set1(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, set1(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, set1(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, set1(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, set1(5.0000001201e-1f));
  __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), set1(1.0f));
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23)));
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23)));
  y = _mm256_blendv_ps(y, set1(std::numeric_limits<float>::infinity()),
                       _mm256_cmp_ps(x, set1(88.7228317f), _CMP_GT_OQ));
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, set1(-104.0f), _CMP_LT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

static inline __m256 abs8(__m256 x) { return _mm256_andnot_ps(set1(-0.0f), x); }

// For t = exp(-|z|) and d = 1/(1+t): sigmoid(z) = z >= 0 ? d : t*d.
static inline __m256 sig_select(__m256 z, __m256 t, __m256 d) {
  return _mm256_blendv_ps(_mm256_mul_ps(t, d), d, _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GE_OQ));
}

static inline __m256 sigmoid8(__m256 x) {
  const __m256 t = exp8(_mm256_sub_ps(_mm256_setzero_ps(), abs8(x)));
  const __m256 d = _mm256_div_ps(set1(1.0f), _mm256_add_ps(set1(1.0f), t));
  return sig_select(x, t, d);
}

// tanh: Cephes' odd polynomial for |x| < 0.625, else sign(x) * (1 - 2/(exp(2|x|) + 1)).
static inline __m256 tanh8(__m256 x) {
  const __m256 ax = abs8(x);
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 p = set1(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, z, set1(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, z, set1(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, z, set1(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, z, set1(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
  const __m256 e = exp8(_mm256_add_ps(ax, ax));
  __m256 big = _mm256_sub_ps(set1(1.0f), _mm256_div_ps(set1(2.0f), _mm256_add_ps(e, set1(1.0f))));
  big = _mm256_or_ps(big, _mm256_and_ps(x, set1(-0.0f)));  // copy the sign of x
  return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, set1(0.625f), _CMP_LT_OQ));
}

static inline __m256 gelu8(__m256 x) {
  const __m256 u = _mm256_mul_ps(set1(kGeluK), _mm256_fmadd_ps(_mm256_mul_ps(set1(kGeluC), x),
                                                               _mm256_mul_ps(x, x), x));
  return _mm256_mul_ps(x, sigmoid8(_mm256_add_ps(u, u)));
}

static inline __m256 gelu_grad8(__m256 x) {  // same formula as gelu_grad_s
  x = _mm256_max_ps(set1(-20.0f), _mm256_min_ps(set1(20.0f), x));  // operand order keeps NaN
  const __m256 x2 = _mm256_mul_ps(x, x);
  const __m256 u = _mm256_mul_ps(set1(kGeluK), _mm256_fmadd_ps(_mm256_mul_ps(set1(kGeluC), x2), x, x));
  const __m256 t = exp8(_mm256_mul_ps(set1(-2.0f), abs8(u)));
  const __m256 d = _mm256_div_ps(set1(1.0f), _mm256_add_ps(set1(1.0f), t));
  const __m256 s = sig_select(u, t, d);
  const __m256 du = _mm256_mul_ps(set1(kGeluK), _mm256_fmadd_ps(set1(3.0f * kGeluC), x2, set1(1.0f)));
  const __m256 sd = _mm256_mul_ps(_mm256_mul_ps(t, d), d);
  return _mm256_fmadd_ps(_mm256_mul_ps(_mm256_add_ps(x, x), sd), du, s);
}

static inline __m256 silu_grad8(__m256 x) {  // same formula as silu_grad_s
  const __m256 t = exp8(_mm256_sub_ps(_mm256_setzero_ps(), abs8(x)));
  const __m256 d = _mm256_div_ps(set1(1.0f), _mm256_add_ps(set1(1.0f), t));
  return _mm256_fmadd_ps(x, _mm256_mul_ps(_mm256_mul_ps(t, d), d), sig_select(x, t, d));
}

// out[i] = f(x[i]) eight lanes at a time; the tail goes through masked loads and stores.
template <class F>
static inline void vmap1(const float* x, float* out, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(out + i, m, f(_mm256_maskload_ps(x + i, m)));
  }
}

// out[i] = b[i*sb] * f(a[i*sa]) for sa, sb in {0, 1}.
template <class F>
static inline void vmap_grad(const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n, F f) {
  auto load = [](const float* p, int64_t s, int64_t i, __m256i m, bool tail) {
    if (s == 0) return _mm256_broadcast_ss(p);
    return tail ? _mm256_maskload_ps(p + i, m) : _mm256_loadu_ps(p + i);
  };
  const __m256i none = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_mul_ps(load(b, sb, i, none, false), f(load(a, sa, i, none, false))));
  }
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(load(b, sb, i, m, true), f(load(a, sa, i, m, true))));
  }
}

static void unary(int op, const float* x, float* out, int64_t n, double alpha, double beta) {
  switch (op) {
    case U_EXP: vmap1(x, out, n, exp8); break;
    case U_TANH: vmap1(x, out, n, tanh8); break;
    case U_SIGMOID: vmap1(x, out, n, sigmoid8); break;
    case U_GELU: vmap1(x, out, n, gelu8); break;
    case U_SILU: vmap1(x, out, n, [](__m256 v) { return _mm256_mul_ps(v, sigmoid8(v)); }); break;
    default: unary_scalar(op, x, out, n, alpha, beta); break;
  }
}

static void binary(int op, const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n) {
  const bool unit = (sa == 0 || sa == 1) && (sb == 0 || sb == 1);
  if (unit && op == B_GELU_GRAD) vmap_grad(a, sa, b, sb, out, n, gelu_grad8);
  else if (unit && op == B_SILU_GRAD) vmap_grad(a, sa, b, sb, out, n, silu_grad8);
  else binary_scalar(op, a, sa, b, sb, out, n);
}

// Float64 sums of per-element terms: each 8-float vector is widened into two 4-double halves.
static inline __m256d lo4(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
static inline __m256d hi4(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }
static inline double hsum(__m256d a, __m256d b) {
  alignas(32) double t[4];
  _mm256_store_pd(t, _mm256_add_pd(a, b));
  return (t[0] + t[1]) + (t[2] + t[3]);
}

// acc(lo, hi, i) adds element i..i+7's terms into two double accumulators; scalar(i) is one element's term.
template <class V, class S>
static inline double vreduce(int64_t n, V acc, S scalar) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc(s0, s1, i);
  double tail = 0;
  for (; i < n; ++i) tail += scalar(i);
  return hsum(s0, s1) + tail;
}

static double sum(const float* x, int64_t n) {
  return vreduce(n, [x](__m256d& s0, __m256d& s1, int64_t i) {
    const __m256 v = _mm256_loadu_ps(x + i);
    s0 = _mm256_add_pd(s0, lo4(v));
    s1 = _mm256_add_pd(s1, hi4(v));
  }, [x](int64_t i) { return static_cast<double>(x[i]); });
}

static double sumsq(const float* x, int64_t n) {
  return vreduce(n, [x](__m256d& s0, __m256d& s1, int64_t i) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256d a = lo4(v), b = hi4(v);
    s0 = _mm256_fmadd_pd(a, a, s0);
    s1 = _mm256_fmadd_pd(b, b, s1);
  }, [x](int64_t i) { double v = x[i]; return v * v; });
}

static double sqdev(const float* x, double mean, int64_t n) {
  const __m256d mu = _mm256_set1_pd(mean);
  return vreduce(n, [x, mu](__m256d& s0, __m256d& s1, int64_t i) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256d a = _mm256_sub_pd(lo4(v), mu), b = _mm256_sub_pd(hi4(v), mu);
    s0 = _mm256_fmadd_pd(a, a, s0);
    s1 = _mm256_fmadd_pd(b, b, s1);
  }, [x, mean](int64_t i) { double v = x[i] - mean; return v * v; });
}

static double dot(const float* a, const float* b, int64_t n) {
  return vreduce(n, [a, b](__m256d& s0, __m256d& s1, int64_t i) {
    const __m256 va = _mm256_loadu_ps(a + i), vb = _mm256_loadu_ps(b + i);
    s0 = _mm256_fmadd_pd(lo4(va), lo4(vb), s0);
    s1 = _mm256_fmadd_pd(hi4(va), hi4(vb), s1);
  }, [a, b](int64_t i) { return static_cast<double>(a[i]) * b[i]; });
}

static double dot3(const float* a, const float* b, const float* c, int64_t n) {
  return vreduce(n, [a, b, c](__m256d& s0, __m256d& s1, int64_t i) {
    const __m256 va = _mm256_loadu_ps(a + i), vb = _mm256_loadu_ps(b + i), vc = _mm256_loadu_ps(c + i);
    s0 = _mm256_fmadd_pd(_mm256_mul_pd(lo4(va), lo4(vb)), lo4(vc), s0);
    s1 = _mm256_fmadd_pd(_mm256_mul_pd(hi4(va), hi4(vb)), hi4(vc), s1);
  }, [a, b, c](int64_t i) { return static_cast<double>(a[i]) * b[i] * c[i]; });
}

static float max(const float* x, int64_t n) {
  const float ninf = -std::numeric_limits<float>::infinity();
  __m256 m0 = set1(ninf), m1 = set1(ninf);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);  // operand order: a NaN element is skipped
    m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, _mm256_max_ps(m0, m1));
  float m = ninf;
  for (float v : t) m = v > m ? v : m;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

static double exp_sum(const float* x, float shift, float* out, int64_t n) {
  const __m256 sh = set1(shift);
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh));
    if (out) _mm256_storeu_ps(out + i, e);
    s0 = _mm256_add_pd(s0, lo4(e));
    s1 = _mm256_add_pd(s1, hi4(e));
  }
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), sh));
    e = _mm256_and_ps(e, _mm256_castsi256_ps(m));  // zero the lanes past the end before summing
    if (out) _mm256_maskstore_ps(out + i, m, e);
    s0 = _mm256_add_pd(s0, lo4(e));
    s1 = _mm256_add_pd(s1, hi4(e));
  }
  return hsum(s0, s1);
}

static void exp_scale(const float* x, float shift, float scale, float* out, int64_t n) {
  const __m256 sh = set1(shift), sc = set1(scale);
  vmap1(x, out, n, [sh, sc](__m256 v) { return _mm256_mul_ps(exp8(_mm256_sub_ps(v, sh)), sc); });
}

static void acc_f64(double* acc, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    _mm256_storeu_pd(acc + i, _mm256_add_pd(_mm256_loadu_pd(acc + i), lo4(v)));
    _mm256_storeu_pd(acc + i + 4, _mm256_add_pd(_mm256_loadu_pd(acc + i + 4), hi4(v)));
  }
  for (; i < n; ++i) acc[i] += static_cast<double>(x[i]);
}
}  // namespace avx2

static const KernelTable kAvx2Table = {
    "avx2",      avx2::unary,   avx2::binary,    avx2::sum,       avx2::sumsq,        avx2::sqdev,
    avx2::dot,   avx2::dot3,    avx2::max,       avx2::exp_sum,   avx2::exp_scale,    avx2::adamw_scalar,
    avx2::acc_f64,
};

const KernelTable* avx2_table() { return &kAvx2Table; }

}  // namespace lisa
