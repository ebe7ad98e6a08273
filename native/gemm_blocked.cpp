// Built-in GEMM driver, BLIS-style: op(B) is packed into KC x NR micro-panels (a KC x NC block, kept in L3/L2),
// alpha*op(A) into MR x KC micro-panels (an MC x KC block, kept in L2), and a register-tiled MR x NR micro-kernel
// runs over the packed blocks (its B micro-panel stays in L1). Work is split over the thread pool by batch item
// and by column (or row) ranges of C; every task packs into its own thread-local buffers, so no barriers.
// Also holds the portable (scalar, compiler-vectorised) packing and micro-kernel used when AVX2/FMA is missing.
#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <numeric>

#include "gemm_impl.h"
#include "threadpool.h"

namespace lisa {
namespace {
// Cache blocking, tuned for Zen 3 (32 KiB L1d, 512 KiB L2 per core, 32 MiB L3): the 6x16 kernel's B micro-panel
// (KC*16*4 = 16 KiB) stays in L1 beside an A micro-panel (6 KiB); the packed A block (MC*KC*4 = 144 KiB) in L2.
struct Blocking {
  int64_t mc = 144, kc = 256, nc = 3072;
};

const Blocking& blocking() {
  static const Blocking b = [] {
    Blocking r;
    // LISA_GEMM_BLOCKING="mc,kc,nc" overrides the defaults (for tuning with bench/gemm.ts).
    if (const char* env = std::getenv("LISA_GEMM_BLOCKING")) {
      long mc = 0, kc = 0, nc = 0;
      if (std::sscanf(env, "%ld,%ld,%ld", &mc, &kc, &nc) == 3 && mc > 0 && kc > 0 && nc > 0) {
        r.mc = (mc + kMR - 1) / kMR * kMR;
        r.kc = kc;
        r.nc = (nc + kNR - 1) / kNR * kNR;
      }
    }
    return r;
  }();
  return b;
}

// Per-thread packing buffers, grown on demand and reused across calls (64-byte aligned).
struct PackBuffers {
  float* a = nullptr;
  float* b = nullptr;
  size_t a_cap = 0, b_cap = 0;
  ~PackBuffers() {
    std::free(a);
    std::free(b);
  }
  static float* grow(float*& p, size_t& cap, size_t n) {
    if (n > cap) {
      std::free(p);
      size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
      p = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!p) std::abort();
      cap = bytes / sizeof(float);
    }
    return p;
  }
};
thread_local PackBuffers t_buffers;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Splits n into ceil(n/max) near-equal blocks, each rounded up to a multiple of unit; returns the block size.
inline int64_t balanced_block(int64_t n, int64_t max, int64_t unit) {
  int64_t blocks = ceil_div(n, max);
  return ceil_div(ceil_div(n, blocks), unit) * unit;
}

// C[i0:i1, j0:j1] of one product, on the calling thread.
void gemm_tile(const GemmArgs& g, int64_t i0, int64_t i1, int64_t j0, int64_t j1, const GemmKernels& kr) {
  const Blocking& bl = blocking();
  const int64_t m = i1 - i0, n = j1 - j0;
  const int64_t kc_max = balanced_block(g.K, bl.kc, 1);
  const int64_t mc_max = balanced_block(m, bl.mc, kMR);
  const int64_t nc_max = balanced_block(n, bl.nc, kNR);
  float* Ap = PackBuffers::grow(t_buffers.a, t_buffers.a_cap, mc_max * kc_max + kPackSlack);
  float* Bp = PackBuffers::grow(t_buffers.b, t_buffers.b_cap, nc_max * kc_max + kPackSlack);
  alignas(64) float tmp[kMR * kNR];

  for (int64_t jc = j0; jc < j1; jc += nc_max) {
    const int64_t nc = std::min(nc_max, j1 - jc);
    for (int64_t pc = 0; pc < g.K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, g.K - pc);
      const float beta = pc == 0 ? g.beta : 1.0f;
      kr.pack_b(g.transB, g.B, g.ldb, pc, jc, kc, nc, Bp);
      for (int64_t ic = i0; ic < i1; ic += mc_max) {
        const int64_t mc = std::min(mc_max, i1 - ic);
        kr.pack_a(g.transA, g.A, g.lda, ic, pc, mc, kc, g.alpha, Ap);
        // Macro-kernel: the B micro-panel (outer loop) stays in L1 while A micro-panels stream from L2.
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int64_t nr = std::min<int64_t>(kNR, nc - jr);
          const float* bp = Bp + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const int64_t mr = std::min<int64_t>(kMR, mc - ir);
            const float* ap = Ap + ir * kc;
            float* c = g.C + (ic + ir) * g.ldc + jc + jr;
            if (mr == kMR && nr == kNR) {
              kr.kernel(kc, ap, bp, c, g.ldc, beta);
              continue;
            }
            kr.kernel(kc, ap, bp, tmp, kNR, 0.0f);  // edge tile: compute full, merge the valid part
            for (int64_t r = 0; r < mr; ++r) {
              float* cr = c + r * g.ldc;
              const float* tr = tmp + r * kNR;
              if (beta == 0.0f) {
                for (int64_t j = 0; j < nr; ++j) cr[j] = tr[j];
              } else {
                for (int64_t j = 0; j < nr; ++j) cr[j] = tr[j] + beta * cr[j];
              }
            }
          }
        }
      }
    }
  }
}

// ---- portable packing and micro-kernel (no intrinsics; the compiler vectorises with SSE2) ----

void pack_a_portable(bool transA, const float* A, int64_t lda, int64_t i0, int64_t k0, int64_t mc, int64_t kc,
                     float alpha, float* Ap) {
  for (int64_t ip = 0; ip < mc; ip += kMR) {
    const int64_t mr = std::min<int64_t>(kMR, mc - ip);
    float* dst = Ap + ip * kc;
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t r = 0; r < kMR; ++r) {
        float v = 0.0f;
        if (r < mr) {
          const int64_t i = i0 + ip + r, kk = k0 + k;
          v = alpha * (transA ? A[kk * lda + i] : A[i * lda + kk]);
        }
        dst[k * kMR + r] = v;
      }
    }
  }
}

void pack_b_portable(bool transB, const float* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                     float* Bp) {
  for (int64_t jp = 0; jp < nc; jp += kNR) {
    const int64_t nr = std::min<int64_t>(kNR, nc - jp);
    float* dst = Bp + jp * kc;
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t c = 0; c < kNR; ++c) {
        float v = 0.0f;
        if (c < nr) {
          const int64_t j = j0 + jp + c, kk = k0 + k;
          v = transB ? B[j * ldb + kk] : B[kk * ldb + j];
        }
        dst[k * kNR + c] = v;
      }
    }
  }
}

void kernel_portable(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float beta) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const float* a = Ap + k * kMR;
    const float* b = Bp + k * kNR;
    for (int r = 0; r < kMR; ++r)
      for (int c = 0; c < kNR; ++c) acc[r][c] += a[r] * b[c];
  }
  for (int r = 0; r < kMR; ++r) {
    float* cr = C + r * ldc;
    if (beta == 0.0f) {
      for (int c = 0; c < kNR; ++c) cr[c] = acc[r][c];
    } else {
      for (int c = 0; c < kNR; ++c) cr[c] = acc[r][c] + beta * cr[c];
    }
  }
}
}  // namespace

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return ok;
#else
  return false;
#endif
}

GemmKernels portable_kernels() { return {kernel_portable, pack_a_portable, pack_b_portable, "portable"}; }

void gemm_blocked(const GemmBatch& p, const GemmKernels& kr) {
  const GemmArgs& g = p.g;
  const int64_t threads = num_threads();
  // Tasks: each batch item is cut into `parts` ranges of C, along N when N >= M (every task then re-packs
  // only the smaller A) and along M otherwise. parts makes batch * parts a multiple of the thread count.
  int64_t parts = threads / std::gcd(p.batch, threads);
  const bool split_n = g.N >= g.M;
  const int64_t units = split_n ? ceil_div(g.N, kNR) : ceil_div(g.M, kMR);
  parts = std::max<int64_t>(1, std::min(parts, units));
  const int64_t tasks = p.batch * parts;
  // At least ~4 MFLOP per chunk, so small products do not pay for waking the pool.
  const double task_flops = 2.0 * static_cast<double>(g.M) * g.N * g.K / parts;
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(4.0e6 / std::max(task_flops, 1.0)));

  parallel_for(tasks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / parts, part = t % parts;
      GemmArgs gb = g;
      gb.A += b * p.strideA;
      gb.B += b * p.strideB;
      gb.C += b * p.strideC;
      const int64_t u0 = units * part / parts, u1 = units * (part + 1) / parts;
      if (split_n) {
        gemm_tile(gb, 0, g.M, u0 * kNR, std::min(g.N, u1 * kNR), kr);
      } else {
        gemm_tile(gb, u0 * kMR, std::min(g.M, u1 * kMR), 0, g.N, kr);
      }
    }
  });
}
}  // namespace lisa
