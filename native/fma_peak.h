// Measured fp32 FMA peak of this machine at an ISA level and thread count (fma_peak.cpp).
#pragma once
#include "cpu_features.h"

namespace lisa {
// GFLOPS of independent FMA chains on `threads` threads at `level` (must be <= cpu_max_level()); best of 24 short runs.
double fma_peak_gflops(CpuLevel level, int threads);
}  // namespace lisa
