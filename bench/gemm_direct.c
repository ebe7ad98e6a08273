/* OpenBLAS called directly, as the baseline for bench/gemm.ts (which compiles this file with g++ -lopenblas).
 * Usage: gemm_direct THREADS MIN_SECONDS transA transB M N K [transA transB M N K ...]
 * Times row-major cblas_sgemm (alpha 1, beta 0) on each shape after one warm-up call, repeating until
 * MIN_SECONDS have passed (3 to 15 timed calls), and prints one line per shape: "M N K transA transB GFLOPS"
 * with the median time. Operands are allocated with the same layouts that bench/gemm.ts passes to the addon. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif
void cblas_sgemm(int order, int transA, int transB, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc);
void openblas_set_num_threads(int n);
#ifdef __cplusplus
}
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float* random_matrix(size_t n) {
  float* p = (float*)malloc(n * sizeof(float));
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  unsigned s = 12345u;
  for (size_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    p[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return p;
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc < 8 || (argc - 3) % 5 != 0) {
    fprintf(stderr, "usage: gemm_direct THREADS MIN_SECONDS transA transB M N K ...\n");
    return 2;
  }
  openblas_set_num_threads(atoi(argv[1]));
  double min_seconds = atof(argv[2]);
  for (int arg = 3; arg + 4 < argc; arg += 5) {
    int ta = atoi(argv[arg]), tb = atoi(argv[arg + 1]);
    int M = atoi(argv[arg + 2]), N = atoi(argv[arg + 3]), K = atoi(argv[arg + 4]);
    float* A = random_matrix((size_t)M * K);
    float* B = random_matrix((size_t)K * N);
    float* C = random_matrix((size_t)M * N);
    int lda = ta ? M : K, ldb = tb ? K : N;
    cblas_sgemm(101, ta ? 112 : 111, tb ? 112 : 111, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
    double times[15];
    int reps = 0;
    double start = now();
    while (reps < 15 && (reps < 3 || now() - start < min_seconds)) {
      double t0 = now();
      cblas_sgemm(101, ta ? 112 : 111, tb ? 112 : 111, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
      times[reps++] = now() - t0;
    }
    qsort(times, (size_t)reps, sizeof(double), cmp_double);
    double median = reps % 2 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
    printf("%d %d %d %d %d %.3f\n", M, N, K, ta, tb, 2.0 * M * N * K / median * 1e-9);
    fflush(stdout);
    free(A);
    free(B);
    free(C);
  }
  return 0;
}
