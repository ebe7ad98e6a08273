// Run-time CPU feature detection (cpuid through the compiler's builtins, which also check that the OS saves the
// AVX / AVX-512 register state) and the LISA_CPU cap on the ISA level used by the kernels.
#include "cpu_features.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace lisa {
namespace {
CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  f.avx512 = f.avx2_fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl");
  f.avx512_bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
#endif
  return f;
}

// The cap from LISA_CPU at load; an unknown value is reported once on stderr and ignored.
CpuLevel initial_cap() {
  const char* env = std::getenv("LISA_CPU");
  CpuLevel cap = CpuLevel::Avx512;
  if (env && *env && !parse_cpu_level(env, &cap)) {
    std::fprintf(stderr, "lisa-tune: LISA_CPU='%s' ignored (expected avx512, avx2 or portable)\n", env);
    cap = CpuLevel::Avx512;
  }
  return cap;
}

std::atomic<int> g_cap{static_cast<int>(initial_cap())};
}  // namespace

const CpuFeatures& cpu_detected() {
  static const CpuFeatures f = detect();
  return f;
}

CpuLevel cpu_max_level() {
  const CpuFeatures& f = cpu_detected();
  return f.avx512 ? CpuLevel::Avx512 : f.avx2_fma ? CpuLevel::Avx2 : CpuLevel::Portable;
}

CpuLevel cpu_level() {
  const int hw = static_cast<int>(cpu_max_level()), cap = g_cap.load(std::memory_order_relaxed);
  return static_cast<CpuLevel>(hw < cap ? hw : cap);
}

bool cpu_use_avx512_bf16() { return cpu_level() == CpuLevel::Avx512 && cpu_detected().avx512_bf16; }

void set_cpu_cap(CpuLevel cap) { g_cap.store(static_cast<int>(cap)); }

const char* cpu_level_name(CpuLevel level) {
  switch (level) {
    case CpuLevel::Avx512: return "avx512";
    case CpuLevel::Avx2: return "avx2";
    default: return "portable";
  }
}

bool parse_cpu_level(const char* name, CpuLevel* out) {
  if (std::strcmp(name, "avx512") == 0) *out = CpuLevel::Avx512;
  else if (std::strcmp(name, "avx2") == 0) *out = CpuLevel::Avx2;
  else if (std::strcmp(name, "portable") == 0) *out = CpuLevel::Portable;
  else return false;
  return true;
}
}  // namespace lisa
