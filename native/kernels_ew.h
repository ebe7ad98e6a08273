// Scalar elementwise loops shared by both kernel tables: included inside a per-ISA namespace by
// kernels_portable.cpp and kernels_avx2.cpp, so g++ auto-vectorizes the same source for SSE2 and for AVX2.
// These are also the naive references for the hand-vectorized AVX2 loops. No #pragma once: included per ISA,
// inside `namespace lisa { namespace <isa> {`, after the includer has included <cmath> and "kernels.h".

constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluC = 0.044715f;

// sigmoid via t = exp(-|x|), so nothing overflows: 1/(1+t) for x >= 0, t/(1+t) otherwise.
static inline float sigmoid_s(float x) {
  float t = std::exp(-std::fabs(x));
  float d = 1.0f / (1.0f + t);
  return x >= 0.0f ? d : t * d;
}

// gelu_new: 0.5*x*(1 + tanh(u)) = x * sigmoid(2u), u = k*(x + c*x^3); the sigmoid form has no cancellation.
static inline float gelu_s(float x) {
  float u = kGeluK * (x + kGeluC * x * x * x);
  return x * sigmoid_s(2.0f * u);
}

// d gelu: s + 2*x*u'*s*(1-s), s = sigmoid(2u), s*(1-s) = t/(1+t)^2 with t = exp(-2|u|), u' = k*(1 + 3c*x^2).
// x is clamped to [-20, 20] first: outside it gelu' is 0 or 1 to float precision, and x^3 cannot overflow.
static inline float gelu_grad_s(float x) {
  x = x > 20.0f ? 20.0f : (x < -20.0f ? -20.0f : x);
  float x2 = x * x;
  float u = kGeluK * (x + kGeluC * x2 * x);
  float t = std::exp(-2.0f * std::fabs(u));
  float d = 1.0f / (1.0f + t);
  float s = u >= 0.0f ? d : t * d;
  return s + 2.0f * x * (t * d * d) * (kGeluK * (1.0f + 3.0f * kGeluC * x2));
}

// d silu: s*(1 + x*(1-s)) = s + x*s*(1-s), s*(1-s) = t/(1+t)^2 with t = exp(-|x|).
static inline float silu_grad_s(float x) {
  float t = std::exp(-std::fabs(x));
  float d = 1.0f / (1.0f + t);
  float s = x >= 0.0f ? d : t * d;
  return s + x * (t * d * d);
}

template <class F>
static inline void map1(const float* x, float* out, int64_t n, F f) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
}

// out[i] = f(a[i*sa], b[i*sb]); the common stride pairs get their own loops so they vectorize.
template <class F>
static inline void map2(const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n, F f) {
  if (sa == 1 && sb == 1) {
#pragma GCC ivdep
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = *b;
#pragma GCC ivdep
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = *a;
#pragma GCC ivdep
    for (int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i * sa], b[i * sb]);
  }
}

static inline float pow_s(float x, double p) { return static_cast<float>(std::pow(static_cast<double>(x), p)); }

// Every unary op, scalar. affine and pow are computed in double like the reference.
static void unary_scalar(int op, const float* x, float* out, int64_t n, double alpha, double beta) {
  switch (op) {
    case U_NEG: map1(x, out, n, [](float v) { return -v; }); break;
    case U_EXP: map1(x, out, n, [](float v) { return std::exp(v); }); break;
    case U_LOG: map1(x, out, n, [](float v) { return std::log(v); }); break;
    case U_SQRT: map1(x, out, n, [](float v) { return std::sqrt(v); }); break;
    case U_RSQRT: map1(x, out, n, [](float v) { return 1.0f / std::sqrt(v); }); break;
    case U_TANH: map1(x, out, n, [](float v) { return std::tanh(v); }); break;
    case U_SIGMOID: map1(x, out, n, sigmoid_s); break;
    case U_RELU: map1(x, out, n, [](float v) { return v > 0.0f ? v : 0.0f; }); break;
    case U_ABS: map1(x, out, n, [](float v) { return std::fabs(v); }); break;
    case U_SQUARE: map1(x, out, n, [](float v) { return v * v; }); break;
    case U_GELU: map1(x, out, n, gelu_s); break;
    case U_SILU: map1(x, out, n, [](float v) { return v * sigmoid_s(v); }); break;
    case U_AFFINE:
      map1(x, out, n, [alpha, beta](float v) { return static_cast<float>(alpha * v + beta); });
      break;
    case U_POW:
      if (alpha == 2.0) map1(x, out, n, [](float v) { return v * v; });
      else if (alpha == 1.0) map1(x, out, n, [](float v) { return v; });
      else if (alpha == 0.5) map1(x, out, n, [](float v) { return std::sqrt(v); });
      else map1(x, out, n, [alpha](float v) { return pow_s(v, alpha); });
      break;
    default: break;
  }
}

// Every binary op, scalar. maximum/minimum follow the reference: NaN in a wins, then a on ties.
static void binary_scalar(int op, const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n) {
  switch (op) {
    case B_ADD: map2(a, sa, b, sb, out, n, [](float x, float y) { return x + y; }); break;
    case B_SUB: map2(a, sa, b, sb, out, n, [](float x, float y) { return x - y; }); break;
    case B_MUL: map2(a, sa, b, sb, out, n, [](float x, float y) { return x * y; }); break;
    case B_DIV: map2(a, sa, b, sb, out, n, [](float x, float y) { return x / y; }); break;
    case B_MAX: map2(a, sa, b, sb, out, n, [](float x, float y) { return (x >= y || x != x) ? x : y; }); break;
    case B_MIN: map2(a, sa, b, sb, out, n, [](float x, float y) { return (x <= y || x != x) ? x : y; }); break;
    case B_GELU_GRAD: map2(a, sa, b, sb, out, n, [](float x, float g) { return g * gelu_grad_s(x); }); break;
    case B_SILU_GRAD: map2(a, sa, b, sb, out, n, [](float x, float g) { return g * silu_grad_s(x); }); break;
    case B_RELU_GRAD: map2(a, sa, b, sb, out, n, [](float x, float g) { return x > 0.0f ? g : 0.0f; }); break;
    default: break;
  }
}

// AdamW in float32 (as torch): p -= lr*wd*p + lr/bc1 * m / (sqrt(v/bc2) + eps), after the moment updates.
// Subtracting lr*wd*p (rather than multiplying by a rounded 1 - lr*wd) keeps p within one rounding.
template <typename ReadG>
static inline void adamw_loop(float* p, const float* g, float* m, float* v, int64_t n, const AdamCoef& c, ReadG read) {
  const float lrwd = c.lrwd, b1 = c.b1, omb1 = c.omb1, b2 = c.b2, omb2 = c.omb2;
  const float ibc2 = c.inv_bc2, step = c.step_size, eps = c.eps;
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) {
    const float gi = read(g[i]);
    const float mi = b1 * m[i] + omb1 * gi;
    const float vi = b2 * v[i] + omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] - (lrwd * p[i] + step * mi / (std::sqrt(vi * ibc2) + eps));
  }
}

// The gradient is read as is, or scaled in double and rounded once: exactly what clipGradNorm's in-place affine
// kernel would have stored, so a folded clip changes nothing.
static void adamw_scalar(float* p, const float* g, float* m, float* v, int64_t n, const AdamCoef& c) {
  const double gs = c.gscale;
  if (gs == 1.0) adamw_loop(p, g, m, v, n, c, [](float x) { return x; });
  else adamw_loop(p, g, m, v, n, c, [gs](float x) { return static_cast<float>(gs * x + 0.0); });
}
