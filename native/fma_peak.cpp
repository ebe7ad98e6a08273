// The machine's fp32 FMA peak, measured: every thread runs a loop of independent FMAs (16 accumulator chains,
// enough to fill two FMA pipes of latency <= 8) at the given ISA's widest vector, and the total FLOPs over the
// wall time is the peak the GEMM benchmarks compare against.
#include "fma_peak.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#include "threadpool.h"

namespace lisa {
namespace {
constexpr int64_t kIters = 1 << 22;  // per thread: 16 * kIters FMAs of one vector each

// Each returns a value that depends on every accumulator, so no FMA is optimised away; x/y come from the caller
// so nothing is constant-folded.
__attribute__((target("avx512f"))) float loop_avx512(float x, float y) {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m512 a = _mm512_set1_ps(x), b = _mm512_set1_ps(y);
  for (int64_t it = 0; it < kIters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(a, acc[i], b);
    __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[8]));
  }
  __m512 s = acc[0];
  for (int i = 1; i < 16; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) float loop_avx2(float x, float y) {
  __m256 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m256 a = _mm256_set1_ps(x), b = _mm256_set1_ps(y);
  for (int64_t it = 0; it < kIters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) acc[i] = _mm256_fmadd_ps(a, acc[i], b);
    __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[8]));
  }
  __m256 s = acc[0];
  for (int i = 1; i < 16; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float t[8];
  _mm256_store_ps(t, s);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}

// SSE2 (4 lanes, separate multiply and add: what the portable kernel's vector code compiles to); counts 2 FLOPs
// per lane per multiply-add pair, like an FMA.
float loop_portable(float x, float y) {
  __m128 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m128 a = _mm_set1_ps(x), b = _mm_set1_ps(y);
  for (int64_t it = 0; it < kIters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) acc[i] = _mm_add_ps(_mm_mul_ps(a, acc[i]), b);
    __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[8]));
  }
  __m128 s = acc[0];
  for (int i = 1; i < 16; ++i) s = _mm_add_ps(s, acc[i]);
  alignas(16) float t[4];
  _mm_store_ps(t, s);
  return t[0] + t[1] + t[2] + t[3];
}
}  // namespace

double fma_peak_gflops(CpuLevel level, int threads) {
  const int lanes = level == CpuLevel::Avx512 ? 16 : level == CpuLevel::Avx2 ? 8 : 4;
  const int saved = num_threads();
  if (threads > saved) set_num_threads(threads);
  std::atomic<int> sink{0};
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
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
    best = std::max(best, 2.0 * 16 * lanes * static_cast<double>(kIters) * threads / dt * 1e-9);
  }
  if (threads > saved) set_num_threads(saved);
  return best;
}
}  // namespace lisa
