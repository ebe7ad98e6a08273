// OpenBLAS, loaded lazily with dlopen("libopenblas.so.0") so the addon builds and runs without it.
// LISA_NO_OPENBLAS=1 in the environment keeps it unloaded (the built-in GEMM is then used).
#pragma once

namespace lisa {
namespace blas {
// CBLAS enum values (cblas.h), so callers need no OpenBLAS headers.
enum { kRowMajor = 101, kNoTrans = 111, kTrans = 112 };

using SgemmFn = void (*)(int order, int transA, int transB, int M, int N, int K, float alpha, const float* A,
                         int lda, const float* B, int ldb, float beta, float* C, int ldc);

// Loads the library on first call (thread-safe); true when cblas_sgemm was resolved.
bool available();
// cblas_sgemm, or nullptr when OpenBLAS is unavailable.
SgemmFn sgemm();
// Calls openblas_set_num_threads(n) when the library is loaded; remembers n for a later load.
void set_num_threads(int n);
}  // namespace blas
}  // namespace lisa
