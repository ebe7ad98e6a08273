// Built-in GEMM driver, BLIS-style: op(B) is packed into KC x NR micro-panels (a KC x NC block, kept in L3/L2),
// alpha*op(A) into MR x KC micro-panels (an MC x KC block, kept in L2), and a register-tiled MR x NR micro-kernel
// runs over the packed blocks (its B micro-panel stays in L1). Work is split over the thread pool into tasks
// (batch items, or column/row ranges of C) handed out through an atomic counter; each thread packs into its
// own thread-local buffers (the operand shared by all of an item's tasks once per thread), so no barriers.
// Beside the plain product: a triangle hint skips the k steps where op(A) is zero and cLowerOffset the unwanted
// tiles of C (causal attention), a bias is written into each C tile right before its first kernel call, and a
// product deep in K (the LM head's input gradient) is split in two K ranges, one per thread.
// Also holds the portable (scalar, compiler-vectorised) packing and micro-kernel used when AVX2/FMA is missing.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <utility>

#include "gemm_impl.h"
#include "threadpool.h"

namespace lisa {
namespace {
// The kernel's blocking (GemmKernels mc, kc, nc), or LISA_GEMM_BLOCKING="mc,kc,nc" when set (for tuning with
// bench/gemm.ts); mc and nc are rounded up to the tile.
struct Blocking {
  int64_t mc, kc, nc;
};

Blocking blocking(const GemmKernels& kr) {
  static const Blocking env_override = [] {
    Blocking r{0, 0, 0};
    if (const char* env = std::getenv("LISA_GEMM_BLOCKING")) {
      long mc = 0, kc = 0, nc = 0;
      if (std::sscanf(env, "%ld,%ld,%ld", &mc, &kc, &nc) == 3 && mc > 0 && kc > 0 && nc > 0) r = {mc, kc, nc};
    }
    return r;
  }();
  Blocking b{kr.mc, kr.kc, kr.nc};
  if (env_override.mc > 0) b = env_override;
  b.mc = (b.mc + kr.mr - 1) / kr.mr * kr.mr;
  b.nc = (b.nc + kr.nr - 1) / kr.nr * kr.nr;
  b.kc = (b.kc + kr.kunit - 1) / kr.kunit * kr.kunit;
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

// A whole operand packed by this thread for one batch item of one call (see gemm_blocked).
struct PrepackCache {
  uint64_t call = 0;
  int64_t item = -1;
  float* buf = nullptr;
  size_t cap = 0;
  ~PrepackCache() { std::free(buf); }
};
thread_local PrepackCache t_prepack;
std::atomic<uint64_t> g_calls{0};  // numbers gemm_blocked calls, to tell a stale PrepackCache

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Splits n into ceil(n/max) near-equal blocks, each rounded up to a multiple of unit; returns the block size.
inline int64_t balanced_block(int64_t n, int64_t max, int64_t unit) {
  int64_t blocks = ceil_div(n, max);
  return ceil_div(ceil_div(n, blocks), unit) * unit;
}

// KC block size for depth K (a multiple of the kernel's kunit, so every block but the last is whole words).
inline int64_t kc_block(const GemmKernels& kr, int64_t K) { return balanced_block(K, blocking(kr).kc, kr.kunit); }
// Packed 32-bit words per row (column) of a kc-deep block.
inline int64_t kwords(const GemmKernels& kr, int64_t kc) { return ceil_div(kc, kr.kunit); }

// Packs op(B)[k0 : k0+kc, j0 : j0+nc] with kr's packing; a bfloat16 B (g.Bh) is widened as it is packed.
inline void pack_b_any(const GemmArgs& g, const GemmKernels& kr, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                       float* Bp) {
  if (g.Bh) kr.pack_b_bf16(g.transB, g.Bh, g.ldb, k0, j0, kc, nc, Bp);
  else kr.pack_b(g.transB, g.B, g.ldb, k0, j0, kc, nc, Bp);
}

// Packs all of alpha*op(A) (all M rows, every KC block): block pc starts at dst + round_up(M, MR) * pc (in packed
// words) and its rows from ic (a multiple of MR) at + ic * kc, which is where gemm_tile looks for them.
void prepack_a(const GemmArgs& g, const GemmKernels& kr, float* dst) {
  const int64_t kc_max = kc_block(kr, g.K), m_pad = ceil_div(g.M, kr.mr) * kr.mr;
  for (int64_t pc = 0; pc < g.K; pc += kc_max)
    kr.pack_a(g.transA, g.A, g.lda, 0, pc, g.M, std::min(kc_max, g.K - pc), g.alpha, dst + m_pad * (pc / kr.kunit));
}

// Packs all of op(B) likewise: block pc at dst + round_up(N, NR) * pc, columns from jc at + jc * kc.
void prepack_b(const GemmArgs& g, const GemmKernels& kr, float* dst) {
  const int64_t kc_max = kc_block(kr, g.K), n_pad = ceil_div(g.N, kr.nr) * kr.nr;
  for (int64_t pc = 0; pc < g.K; pc += kc_max)
    pack_b_any(g, kr, pc, 0, std::min(kc_max, g.K - pc), g.N, dst + n_pad * (pc / kr.kunit));
}

// [w0, w1): the packed k words of KC block [pc, pc+kc) in which rows [i, i+mr) of op(A) may be nonzero, given
// g.tri; every word when g.tri is kTriNone. Empty (w1 <= w0) when those rows are zero over the whole block.
inline std::pair<int64_t, int64_t> nonzero_words(const GemmArgs& g, const GemmKernels& kr, int64_t i, int64_t mr,
                                                 int64_t pc, int64_t kc) {
  int64_t k0 = 0, k1 = kc;  // k steps of the block
  if (g.tri == kTriLower) k1 = std::min(kc, i + mr + g.tri_off - pc);  // row r: k <= r + off
  if (g.tri == kTriUpper) k0 = std::max<int64_t>(0, i - g.tri_off - pc);  // row r: k >= r - off
  if (k1 <= k0) return {0, 0};
  return {k0 / kr.kunit, ceil_div(k1, kr.kunit)};
}

// C[0:mr, 0:nr] (row stride ldc) = beta * C + bias[0:nr] (bias may be null); beta == 0 does not read C.
inline void start_tile(float* C, int64_t ldc, int64_t mr, int64_t nr, float beta, const float* bias) {
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < nr; ++j)
      C[r * ldc + j] = (beta == 0.0f ? 0.0f : beta * C[r * ldc + j]) + (bias ? bias[j] : 0.0f);
}

// C[0:mr, 0:nr] (row stride ldc) = beta * C; beta == 0 writes zeros without reading C.
inline void scale_tile(float* C, int64_t ldc, int64_t mr, int64_t nr, float beta) {
  if (beta == 1.0f) return;
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < nr; ++j) C[r * ldc + j] = beta == 0.0f ? 0.0f : beta * C[r * ldc + j];
}

// C[i0:i1, j0:j1] of one product, on the calling thread. Apre (then i0 == 0) / Bpre (then j0 is a multiple of
// NR), when not null, hold the whole operand packed by prepack_a / prepack_b, and that operand is not re-packed.
void gemm_tile(const GemmArgs& g, int64_t i0, int64_t i1, int64_t j0, int64_t j1, const GemmKernels& kr,
               const float* Apre, const float* Bpre) {
  const Blocking bl = blocking(kr);
  const int64_t MR = kr.mr, NR = kr.nr;
  const int64_t m = i1 - i0, n = j1 - j0;
  const int64_t kc_max = kc_block(kr, g.K), kw_max = kwords(kr, kc_max);
  const int64_t mc_max = balanced_block(m, bl.mc, MR);
  const int64_t nc_max = Bpre ? ceil_div(n, NR) * NR : balanced_block(n, bl.nc, NR);
  const int64_t m_pad = ceil_div(g.M, MR) * MR, n_pad = ceil_div(g.N, NR) * NR;
  float* Ap = Apre ? nullptr : PackBuffers::grow(t_buffers.a, t_buffers.a_cap, mc_max * kw_max + kPackSlack);
  float* Bp = Bpre ? nullptr : PackBuffers::grow(t_buffers.b, t_buffers.b_cap, nc_max * kw_max + kPackSlack);
  alignas(64) float tmp[kMaxTile];

  for (int64_t jc = j0; jc < j1; jc += nc_max) {
    const int64_t nc = std::min(nc_max, j1 - jc);
    for (int64_t pc = 0; pc < g.K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, g.K - pc), kw = kwords(kr, kc);
      // The bias is written into each tile just before its first block's kernel adds to it (beta 1).
      const bool add_bias = pc == 0 && g.bias;
      const float beta = pc == 0 && !add_bias ? g.beta : 1.0f;
      if (Bpre) {
        Bp = const_cast<float*>(Bpre) + n_pad * (pc / kr.kunit) + jc * kw;
      } else {
        pack_b_any(g, kr, pc, jc, kc, nc, Bp);
      }
      for (int64_t ic = i0; ic < i1; ic += mc_max) {
        const int64_t mc = std::min(mc_max, i1 - ic);
        if (Apre) {
          Ap = const_cast<float*>(Apre) + m_pad * (pc / kr.kunit) + ic * kw;
        } else {
          kr.pack_a(g.transA, g.A, g.lda, ic, pc, mc, kc, g.alpha, Ap);
        }
        // Macro-kernel: the B micro-panel (outer loop) stays in L1 while A micro-panels stream from L2.
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min<int64_t>(NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = std::min<int64_t>(MR, mc - ir);
            // The packed k words this tile's rows of op(A) may be nonzero in (all of them unless g.tri).
            const auto [w0, w1] = nonzero_words(g, kr, ic + ir, mr, pc, kc);
            const float* ap = Ap + ir * kw + w0 * MR;
            const float* bp = Bp + jr * kw + w0 * NR;
            const int64_t ks = std::min(kc - w0 * kr.kunit, (w1 - w0) * kr.kunit);  // k steps from word w0
            float* c = g.C + (ic + ir) * g.ldc + jc + jr;
            if (g.c_lower_off >= 0 && jc + jr > ic + ir + mr - 1 + g.c_lower_off) {  // an unwanted tile: zeros
              if (pc == 0) scale_tile(c, g.ldc, mr, nr, 0.0f);
              continue;
            }
            if (add_bias) start_tile(c, g.ldc, mr, nr, g.beta, g.bias + jc + jr);
            if (ks <= 0) {  // op(A) is all zero here: C = beta C
              scale_tile(c, g.ldc, mr, nr, beta);
              continue;
            }
            if (mr == MR && nr == NR) {
              kr.kernel(ks, ap, bp, c, g.ldc, beta);
              continue;
            }
            // A narrow last panel: the kernel for its first 16 or 32 columns, when the ISA has one.
            const MicroKernel narrow = nr <= 16 ? kr.narrow[0] : nr <= 32 ? kr.narrow[1] : nullptr;
            if (narrow && mr == MR && nr % 16 == 0) {
              narrow(ks, ap, bp, c, g.ldc, beta);
              continue;
            }
            (narrow ? narrow : kr.kernel)(ks, ap, bp, tmp, NR, 0.0f);  // edge tile: compute, merge the valid part
            for (int64_t r = 0; r < mr; ++r) {
              float* cr = c + r * g.ldc;
              const float* tr = tmp + r * NR;
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

// Element type T of B is float, or uint16_t bfloat16 bits (widened by load()).
inline float load(float v) { return v; }
inline float load(uint16_t h) { return bf16_to_f32(h); }

template <typename T>
void pack_b_portable_t(bool transB, const T* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                       float* Bp) {
  for (int64_t jp = 0; jp < nc; jp += kNR) {
    const int64_t nr = std::min<int64_t>(kNR, nc - jp);
    float* dst = Bp + jp * kc;
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t c = 0; c < kNR; ++c) {
        float v = 0.0f;
        if (c < nr) {
          const int64_t j = j0 + jp + c, kk = k0 + k;
          v = load(transB ? B[j * ldb + kk] : B[kk * ldb + j]);
        }
        dst[k * kNR + c] = v;
      }
    }
  }
}

void pack_b_portable(bool transB, const float* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                     float* Bp) {
  pack_b_portable_t(transB, B, ldb, k0, j0, kc, nc, Bp);
}

void pack_b_bf16_portable(bool transB, const uint16_t* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                          float* Bp) {
  pack_b_portable_t(transB, B, ldb, k0, j0, kc, nc, Bp);
}

// 4-float vectors (GCC/Clang vector extension: SSE2 on x86-64, NEON elsewhere). The 6x16 tile is computed as
// two 6x8 halves so that the 12 accumulators, 2 B vectors and a broadcast fit in 16 vector registers.
typedef float v4f __attribute__((vector_size(16)));

inline v4f load4(const float* p) {
  v4f v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}
inline void store4(float* p, v4f v) { __builtin_memcpy(p, &v, sizeof(v)); }

void kernel_portable(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float beta) {
  for (int h = 0; h < kNR; h += 8) {
    v4f acc[kMR][2] = {};
    const float* a = Ap;
    const float* b = Bp + h;
    for (int64_t k = 0; k < kc; ++k, a += kMR, b += kNR) {
      const v4f b0 = load4(b), b1 = load4(b + 4);
      for (int r = 0; r < kMR; ++r) {
        const v4f ar = {a[r], a[r], a[r], a[r]};
        acc[r][0] += ar * b0;
        acc[r][1] += ar * b1;
      }
    }
    for (int r = 0; r < kMR; ++r) {
      float* cr = C + r * ldc + h;
      for (int q = 0; q < 2; ++q) {
        v4f out = acc[r][q];
        if (beta != 0.0f) out += beta * load4(cr + 4 * q);
        store4(cr + 4 * q, out);
      }
    }
  }
}
}  // namespace

int64_t widen_bf16_block(bool transB, const uint16_t* Bh, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
                         float* dst) {
  const int64_t rows = transB ? nc : kc, cols = transB ? kc : nc;
  const uint16_t* src = transB ? Bh + j0 * ldb + k0 : Bh + k0 * ldb + j0;
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t* s = src + r * ldb;
    float* d = dst + r * cols;
    for (int64_t c = 0; c < cols; ++c) d[c] = bf16_to_f32(s[c]);
  }
  return cols;
}

GemmKernels portable_kernels() {
  return {kernel_portable, pack_a_portable, pack_b_portable, "portable", pack_b_bf16_portable};
}

// Depth-split products: K at least this many times max(M, N), and at least kSplitMinK deep (the LM head's input
// gradient, K = vocabulary). Split along M or N, every thread would pack all of the deep operand it shares.
constexpr int64_t kSplitRatio = 16, kSplitMinK = 8192, kSplitParts = 2;

// C = alpha op(A) op(B) + beta C of one product whose depth K is split in kSplitParts ranges: part 0 accumulates
// into C (with beta), the others into scratch, then C += each scratch in part order. The split and the sum
// order depend only on the shape, never on the thread count, so the bits do not either.
void gemm_split_k(const GemmArgs& g, const GemmKernels& kr) {
  thread_local PackBuffers scratch;  // the caller's: the pool's threads write into it during this call only
  const int64_t MN = g.M * g.N;
  float* part_c = PackBuffers::grow(scratch.a, scratch.a_cap, (kSplitParts - 1) * MN);
  parallel_for(kSplitParts, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      // K range [k0, k1), its ends on the packing's k unit.
      const int64_t k0 = g.K * s / kSplitParts / kr.kunit * kr.kunit;
      const int64_t k1 = s + 1 == kSplitParts ? g.K : g.K * (s + 1) / kSplitParts / kr.kunit * kr.kunit;
      GemmArgs gs = g;
      gs.K = k1 - k0;
      gs.A += g.transA ? k0 * g.lda : k0;
      if (g.Bh) gs.Bh += g.transB ? k0 : k0 * g.ldb;
      else gs.B += g.transB ? k0 : k0 * g.ldb;
      if (s > 0) {
        gs.C = part_c + (s - 1) * MN;
        gs.ldc = g.N;
        gs.beta = 0.0f;
        gs.bias = nullptr;
      }
      gemm_tile(gs, 0, g.M, 0, g.N, kr, nullptr, nullptr);
    }
  });
  parallel_for(g.M, std::max<int64_t>(1, 16384 / g.N), [&](int64_t r0, int64_t r1) {
    for (int64_t s = 1; s < kSplitParts; ++s)
      for (int64_t r = r0; r < r1; ++r) {
        float* c = g.C + r * g.ldc;
        const float* add = part_c + (s - 1) * MN + r * g.N;
        for (int64_t j = 0; j < g.N; ++j) c[j] += add[j];
      }
  });
}

void gemm_serial(const GemmArgs& g, const GemmKernels& kr) { gemm_tile(g, 0, g.M, 0, g.N, kr, nullptr, nullptr); }

void gemm_blocked(const GemmBatch& p, const GemmKernels& kr) {
  const GemmArgs& g = p.g;
  if (p.batch == 1 && g.tri == kTriNone && g.c_lower_off < 0 && g.K >= kSplitMinK &&
      g.K >= kSplitRatio * std::max(g.M, g.N))
    return gemm_split_k(g, kr);
  const int64_t threads = num_threads();
  const double flops = 2.0 * static_cast<double>(g.M) * g.N * g.K * p.batch;
  // Threads used: at most one per ~4 MFLOP, so small products do not pay for waking the pool.
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(threads, static_cast<int64_t>(flops / 4.0e6)));

  // Tasks, handed out dynamically (a thread slowed by other processes just takes fewer): whole batch items
  // when there are enough of them; otherwise each item is cut into `parts` ranges of C, along N when N >= M
  // (each task then needs only its columns of B, and all of A) and along M otherwise.
  const bool split_n = g.N >= g.M;
  const int64_t MR = kr.mr, NR = kr.nr;
  const int64_t units = split_n ? ceil_div(g.N, NR) : ceil_div(g.M, MR);
  // The operand every task of an item needs is packed once per thread and item (not once per task) when it is
  // small enough; then tasks can be fine-grained. Otherwise one task per thread, each packing its own.
  const int64_t shared_floats = (split_n ? ceil_div(g.M, MR) * MR : ceil_div(g.N, NR) * NR) * kwords(kr, g.K) +
                                kr.kunit * kPackSlack;
  const bool prepack = workers > 1 && p.batch < 2 * workers && shared_floats <= (int64_t(1) << 22);
  int64_t parts = 1;
  if (workers > 1 && p.batch < 2 * workers) {
    parts = prepack ? ceil_div(4 * workers, p.batch) : workers / std::gcd(p.batch, workers);
    parts = std::max<int64_t>(1, std::min(parts, units));
  }
  const int64_t tasks = p.batch * parts;
  const uint64_t call = g_calls.fetch_add(1) + 1;
  std::atomic<int64_t> next{0};

  parallel_for(std::min(workers, tasks), 1, [&](int64_t, int64_t) {
    for (int64_t t; (t = next.fetch_add(1)) < tasks;) {
      const int64_t b = t / parts, part = t % parts;
      GemmArgs gb = g;
      gb.A += b * p.strideA;
      if (gb.Bh) gb.Bh += b * p.strideB;
      else gb.B += b * p.strideB;
      gb.C += b * p.strideC;
      const float* pre = nullptr;
      if (prepack) {
        PrepackCache& pc = t_prepack;
        if (pc.call != call || pc.item != b) {
          float* buf = PackBuffers::grow(pc.buf, pc.cap, shared_floats + kPackSlack);
          split_n ? prepack_a(gb, kr, buf) : prepack_b(gb, kr, buf);
          pc.call = call;
          pc.item = b;
        }
        pre = pc.buf;
      }
      const int64_t u0 = units * part / parts, u1 = units * (part + 1) / parts;
      if (split_n) {
        gemm_tile(gb, 0, g.M, u0 * NR, std::min(g.N, u1 * NR), kr, pre, nullptr);
      } else {
        gemm_tile(gb, u0 * MR, std::min(g.M, u1 * MR), 0, g.N, kr, nullptr, pre);
      }
    }
  });
}
}  // namespace lisa
