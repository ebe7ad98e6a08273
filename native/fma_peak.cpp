// The machine's fp32 FMA peak, measured: every thread runs a loop of independent FMAs (12 accumulator chains,
// enough to fill two FMA pipes of latency <= 6) at the given ISA's widest vector, and the total FLOPs over the
// wall time is the peak the GEMM benchmarks compare against (the best of 24 runs of a few ms each).
#include "fma_peak.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#include "threadpool.h"

namespace lisa {
namespace {
constexpr int64_t kIters = 1 << 20;  // per thread: 12 * kIters FMAs of one vector each (a few ms)

// 12 accumulator chains c0..c11 with distinct starting values (so the compiler cannot merge them), each
// c = a * c + b per iteration; the empty asm statements keep the chains in registers and unmerged. 12 chains
// plus a and b fit in the 16 registers of AVX2 and SSE, and cover two FMA pipes of latency up to 6.
#define LISA_PEAK_LOOP(V, SET1, STEP)                                                                            \
  V c0 = SET1(y * 1), c1 = SET1(y * 2), c2 = SET1(y * 3), c3 = SET1(y * 4), c4 = SET1(y * 5), c5 = SET1(y * 6),    \
    c6 = SET1(y * 7), c7 = SET1(y * 8), c8 = SET1(y * 9), c9 = SET1(y * 10), c10 = SET1(y * 11),                 \
    c11 = SET1(y * 12);                                                                                          \
  const V a = SET1(x), b = SET1(y);                                                                              \
  for (int64_t it = 0; it < kIters; ++it) {                                                                      \
    c0 = STEP(a, c0, b), c1 = STEP(a, c1, b), c2 = STEP(a, c2, b), c3 = STEP(a, c3, b);                          \
    c4 = STEP(a, c4, b), c5 = STEP(a, c5, b), c6 = STEP(a, c6, b), c7 = STEP(a, c7, b);                          \
    c8 = STEP(a, c8, b), c9 = STEP(a, c9, b), c10 = STEP(a, c10, b), c11 = STEP(a, c11, b);                      \
    __asm__("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5));                                   \
    __asm__("" : "+x"(c6), "+x"(c7), "+x"(c8), "+x"(c9), "+x"(c10), "+x"(c11));                                 \
  }                                                                                                              \
  const V s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11));                     \
  float out = 0.0f;                                                                                              \
  for (size_t i = 0; i < sizeof(V) / sizeof(float); ++i) out += s[i];                                            \
  return out;

// x and y come from the caller, so nothing is constant-folded; the result depends on every chain.
__attribute__((target("avx512f"))) float loop_avx512(float x, float y) {
  LISA_PEAK_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps)
}

__attribute__((target("avx2,fma"))) float loop_avx2(float x, float y) {
  LISA_PEAK_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps)
}

// SSE2 (4 lanes, separate multiply and add: what the portable kernel's vector code compiles to); counts 2 FLOPs
// per lane per multiply-add pair, like an FMA.
inline __m128 mul_add(__m128 a, __m128 c, __m128 b) { return _mm_add_ps(_mm_mul_ps(a, c), b); }
float loop_portable(float x, float y) { LISA_PEAK_LOOP(__m128, _mm_set1_ps, mul_add) }
#undef LISA_PEAK_LOOP
}  // namespace

double fma_peak_gflops(CpuLevel level, int threads) {
  const int lanes = level == CpuLevel::Avx512 ? 16 : level == CpuLevel::Avx2 ? 8 : 4;
  const int saved = num_threads();
  if (threads > saved) set_num_threads(threads);
  std::atomic<int> sink{0};
  double best = 0.0;
  for (int rep = 0; rep < 24; ++rep) {  // best of many short runs: other processes only ever slow one down
    const auto t0 = std::chrono::steady_clock::now();
    parallel_for(threads, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const float x = 0.999f, y = 1e-6f;
        const float r = level == CpuLevel::Avx512 ? loop_avx512(x, y)
                        : level == CpuLevel::Avx2 ? loop_avx2(x, y)
                                                  : loop_portable(x, y);
        sink.fetch_add(r > 1e30f ? 1 : 0);
      }
    });
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * 12 * lanes * static_cast<double>(kIters) * threads / dt * 1e-9);
  }
  if (threads > saved) set_num_threads(saved);
  return best;
}
}  // namespace lisa
