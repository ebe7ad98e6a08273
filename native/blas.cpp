// OpenBLAS through dlopen: resolves cblas_sgemm and openblas_set_num_threads on first use. A missing library
// (or LISA_NO_OPENBLAS=1) leaves both null, and every caller falls back to the built-in GEMM. Also shortens
// OpenBLAS's idle spin (OPENBLAS_THREAD_TIMEOUT) so that its threads and our pool share the cores.
#include "blas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace lisa {
namespace blas {
namespace {
using SetThreadsFn = void (*)(int);

std::once_flag g_once;
std::mutex g_mu;  // orders a thread-count change against the load
bool g_loaded = false;
SgemmFn g_sgemm = nullptr;
SetThreadsFn g_set_threads = nullptr;
int g_pending_threads = 0;  // the budget last requested (0 = none yet); applied when the library loads

void load() {
  const char* off = std::getenv("LISA_NO_OPENBLAS");
  if (off && std::strcmp(off, "1") == 0) return;
  // An idle OpenBLAS worker spins (sched_yield) for 2^28 TSC ticks (~0.1 s) after each threaded call, and on
  // 2 cores that steals a core from our own pool for the next kernels. Unless the user chose otherwise, let it
  // spin only 2^16 ticks (~30 us: still enough to catch back-to-back GEMMs) before it sleeps. OpenBLAS reads
  // this when it is loaded, so it is set just before dlopen.
  setenv("OPENBLAS_THREAD_TIMEOUT", "16", /*overwrite=*/0);
  void* lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!lib) lib = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return;
  auto gemm = reinterpret_cast<SgemmFn>(dlsym(lib, "cblas_sgemm"));
  auto threads = reinterpret_cast<SetThreadsFn>(dlsym(lib, "openblas_set_num_threads"));
  if (!gemm) {
    dlclose(lib);
    return;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  g_set_threads = threads;
  if (g_set_threads && g_pending_threads > 0) g_set_threads(g_pending_threads);
  g_sgemm = gemm;  // the handle is kept open for the life of the process
  g_loaded = true;
}
}  // namespace

bool available() {
  std::call_once(g_once, load);
  return g_sgemm != nullptr;
}

SgemmFn sgemm() {
  std::call_once(g_once, load);
  return g_sgemm;
}

void set_num_threads(int n) {
  // Does not load the library: a later load applies the remembered count.
  std::lock_guard<std::mutex> lock(g_mu);
  g_pending_threads = n;
  if (g_loaded && g_set_threads) g_set_threads(n);
}
}  // namespace blas
}  // namespace lisa
