// The portable kernel table: plain C++ loops (g++ -O3 vectorizes the simple ones for SSE2); it is the
// reference the AVX2 table is tested against, and the fallback on CPUs without AVX2/FMA.
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels.h"

namespace lisa {
namespace portable {
#include "kernels_ew.h"

// Float64 reductions with four independent accumulators (no reassociation needed, so no -ffast-math).
template <class F>
static inline double reduce4(int64_t n, F term) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += term(i);
    s1 += term(i + 1);
    s2 += term(i + 2);
    s3 += term(i + 3);
  }
  for (; i < n; ++i) s0 += term(i);
  return (s0 + s1) + (s2 + s3);
}

static double sum(const float* x, int64_t n) {
  return reduce4(n, [x](int64_t i) { return static_cast<double>(x[i]); });
}
static double sumsq(const float* x, int64_t n) {
  return reduce4(n, [x](int64_t i) { double v = x[i]; return v * v; });
}
static double sqdev(const float* x, double mean, int64_t n) {
  return reduce4(n, [x, mean](int64_t i) { double v = x[i] - mean; return v * v; });
}
static double dot(const float* a, const float* b, int64_t n) {
  return reduce4(n, [a, b](int64_t i) { return static_cast<double>(a[i]) * b[i]; });
}
static double dot3(const float* a, const float* b, const float* c, int64_t n) {
  return reduce4(n, [a, b, c](int64_t i) { return static_cast<double>(a[i]) * b[i] * c[i]; });
}

static float max(const float* x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

static double exp_sum(const float* x, float shift, float* out, int64_t n) {
  if (!out) return reduce4(n, [x, shift](int64_t i) { return static_cast<double>(std::exp(x[i] - shift)); });
  return reduce4(n, [x, shift, out](int64_t i) {
    float e = std::exp(x[i] - shift);
    out[i] = e;
    return static_cast<double>(e);
  });
}

static void exp_scale(const float* x, float shift, float scale, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = std::exp(x[i] - shift) * scale;
}

static void acc_f64(double* acc, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += static_cast<double>(x[i]);
}

}  // namespace portable

const KernelTable kPortableTable = {
    "portable",        portable::unary_scalar, portable::binary_scalar, portable::sum,
    portable::sumsq,   portable::sqdev,        portable::dot,           portable::dot3,
    portable::max,     portable::exp_sum,      portable::exp_scale,     portable::adamw_scalar,
    portable::acc_f64,
};

}  // namespace lisa
