// Run-time CPU feature detection, in one place for every kernel family: what the CPU (and OS) supports, and
// the ISA level the kernels may use, capped by LISA_CPU=avx512|avx2|portable (read at addon load) or by
// set_cpu_cap() (from JS, for tests). Nothing here is decided at build time.
#pragma once

namespace lisa {
// Ordered: a higher level implies the lower ones.
enum class CpuLevel { Portable = 0, Avx2 = 1, Avx512 = 2 };

struct CpuFeatures {
  bool avx2_fma = false;     // AVX2 and FMA3
  bool avx512 = false;       // AVX-512 F, BW and VL (and AVX2/FMA)
  bool avx512_bf16 = false;  // AVX512_BF16 (vdpbf16ps, vcvtneps2bf16) on top of avx512
};

// What the hardware supports (detected once).
const CpuFeatures& cpu_detected();
// The highest level the hardware supports.
CpuLevel cpu_max_level();
// The level kernels use now: cpu_max_level() capped by LISA_CPU / set_cpu_cap().
CpuLevel cpu_level();
// True when cpu_level() is Avx512 and the CPU has AVX512_BF16.
bool cpu_use_avx512_bf16();
// Caps the level (a cap above the hardware's level means "as high as the hardware goes").
void set_cpu_cap(CpuLevel cap);
// "avx512" | "avx2" | "portable".
const char* cpu_level_name(CpuLevel level);
// Parses "avx512" | "avx2" | "portable"; false when unknown.
bool parse_cpu_level(const char* name, CpuLevel* out);
}  // namespace lisa
