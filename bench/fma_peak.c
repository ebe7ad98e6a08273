/* The machine's fp32 FMA peak, for bench/step.ts's model FLOP utilisation until the addon measures it itself:
 * each of THREADS threads runs 12 independent FMA chains on the widest vectors the compiler targets
 * (-march=native: 16 floats with AVX-512, 8 with AVX2) for about SECONDS, and the program prints
 * "VECTOR_FLOATS GFLOPS" (2 FLOPs per FMA lane, summed over threads).
 * Usage: fma_peak THREADS SECONDS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <immintrin.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define W 16
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SET1(x) _mm512_set1_ps(x)
#define ADD(a, b) _mm512_add_ps(a, b)
#define SUM(v) _mm512_reduce_add_ps(v)
#else
typedef __m256 vec;
#define W 8
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SET1(x) _mm256_set1_ps(x)
#define ADD(a, b) _mm256_add_ps(a, b)
static float SUM(__m256 v) { float t[8]; _mm256_storeu_ps(t, v); float s = 0; for (int i = 0; i < 8; i++) s += t[i]; return s; }
#endif

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static double seconds;
typedef struct { double flops; double sec; float sink; } result;

static void* run(void* arg) {
  result* r = (result*)arg;
  vec a = SET1(0.999999f), b = SET1(1e-7f);
  vec c0 = SET1(0), c1 = SET1(1), c2 = SET1(2), c3 = SET1(3), c4 = SET1(4), c5 = SET1(5);
  vec c6 = SET1(6), c7 = SET1(7), c8 = SET1(8), c9 = SET1(9), c10 = SET1(10), c11 = SET1(11);
  long iters = 0;
  double t0 = now(), t;
  do {
    for (int i = 0; i < 100000; i++) {
      c0 = FMA(c0, a, b); c1 = FMA(c1, a, b); c2 = FMA(c2, a, b); c3 = FMA(c3, a, b);
      c4 = FMA(c4, a, b); c5 = FMA(c5, a, b); c6 = FMA(c6, a, b); c7 = FMA(c7, a, b);
      c8 = FMA(c8, a, b); c9 = FMA(c9, a, b); c10 = FMA(c10, a, b); c11 = FMA(c11, a, b);
    }
    iters += 100000;
    t = now();
  } while (t - t0 < seconds);
  vec s = ADD(ADD(ADD(c0, c1), ADD(c2, c3)), ADD(ADD(c4, c5), ADD(c6, c7)));
  s = ADD(s, ADD(ADD(c8, c9), ADD(c10, c11)));
  r->sink = SUM(s);
  r->flops = (double)iters * 12 * W * 2;
  r->sec = t - t0;
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  seconds = argc > 2 ? atof(argv[2]) : 0.5;
  pthread_t th[64];
  result res[64];
  if (threads < 1 || threads > 64) return 2;
  for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, run, &res[i]);
  double gflops = 0, sink = 0;
  for (int i = 0; i < threads; i++) { pthread_join(th[i], NULL); gflops += res[i].flops / res[i].sec / 1e9; sink += res[i].sink; }
  printf("%d %.1f\n", W, gflops + (sink == 12345.678 ? 1 : 0));
  return 0;
}
