// The addon's single thread budget: a small persistent pool shared by every kernel, and kept in step with
// OpenBLAS's own thread count so the two never oversubscribe the cores.
#pragma once
#include <cstdint>
#include <functional>

namespace lisa {
// Number of threads kernels may use (>= 1). Defaults to hardware concurrency, or LISA_NUM_THREADS.
int num_threads();
// Sets the budget for our pool and for OpenBLAS (openblas_set_num_threads) together.
void set_num_threads(int n);
// Runs fn(begin, end) over [0, n) split into at most num_threads() contiguous chunks of at least `grain`
// items; runs inline when one chunk suffices. Blocks until all chunks are done. Not reentrant.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
}  // namespace lisa
