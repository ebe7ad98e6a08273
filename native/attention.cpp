// Fused scaled-dot-product attention: no (T, Tk) score matrix of a head is ever materialised. A task takes a
// block of query rows of one (batch, kv head), inside one query head, computes the block's scores with the
// built-in GEMM kernels on its own thread into a per-thread scratch (256 KiB up to Tk = 1024, so it stays in L2),
// applies the softmax there and multiplies by V. The forward keeps two statistics per row (max, 1 / sum); the backward
// recomputes each block's probabilities from them, bit for bit as the forward had them, and runs the four gradient
// products on the block. Causal blocks read only the keys their rows can see, and the GEMM's triangle hints skip
// the zero triangle of the probabilities (GemmArgs.tri, c_lower_off), for grouped heads too.
#include "attention.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "gemm_impl.h"
#include "kernels.h"
#include "threadpool.h"

namespace lisa {
namespace {
constexpr int64_t kScratchFloats = int64_t(1) << 16;  // one block's scores: 256 KiB
constexpr int64_t kMinBlockRows = 64, kMaxBlockRows = 256;
// The backward splits the blocks of a (batch, kv head) into parts, each with its own dK and dV accumulators
// summed in part order afterwards, when there are fewer than this many heads (a shape-only choice, so the bits
// never depend on the thread count).
constexpr int64_t kMinTasks = 8;

// Query rows [r0, r1) of kv head h of batch b, inside one query head (r0 / T == (r1 - 1) / T).
struct Block {
  int64_t b, h, r0, r1;
};

// The blocks of (b, h) in row order: each query head's T rows cut into near-equal blocks whose score rows fit
// kScratchFloats, but of at least kMinBlockRows rows (narrower products run slower: measured at T = 2048, 64-row
// blocks took 0.88x the time of 32-row ones) and at most kMaxBlockRows.
std::vector<Block> head_blocks(const AttnProblem& p, int64_t b, int64_t h) {
  const int64_t rows = std::clamp<int64_t>(kScratchFloats / p.Tk, kMinBlockRows, kMaxBlockRows);
  const int64_t per = (p.T + rows - 1) / rows;
  std::vector<Block> out;
  for (int64_t r = 0; r < p.GT; r += p.T)
    for (int64_t i = 0; i < per; ++i) out.push_back({b, h, r + p.T * i / per, r + p.T * (i + 1) / per});
  return out;
}

// The keys a block's rows see, [0, keys), and the causal diagonal: row i of the block sees keys j <= i + off
// (off = -1 when not causal: every key).
struct Extent {
  int64_t keys, off;
};
Extent extent(const AttnProblem& p, const Block& k) {
  if (!p.causal) return {p.Tk, -1};
  const int64_t off = k.r0 % p.T + p.Tk - p.T;
  return {std::min(p.Tk, off + (k.r1 - k.r0)), off};
}
// Unmasked keys of the block's row i.
inline int64_t valid_keys(const Extent& e, int64_t i) { return e.off < 0 ? e.keys : std::min(e.keys, i + e.off + 1); }

// Per-thread scratch `which` of at least n floats.
float* scratch(int which, int64_t n) {
  thread_local std::vector<float> s[2];
  if (static_cast<int64_t>(s[which].size()) < n) s[which].resize(n);
  return s[which].data();
}

// C (M, N) = alpha op(A) op(B) + beta C on this thread; `lower` / `upper`: op(A) is the block's probabilities (or
// their gradient) / their transpose, zero past the causal diagonal, whose terms are skipped.
enum class Tri { None, Lower, Upper, COut };
void product(const GemmKernels& kr, const Extent& e, Tri tri, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
             float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
             int64_t ldc) {
  GemmArgs g{};
  g.transA = ta;
  g.transB = tb;
  g.M = M;
  g.N = N;
  g.K = K;
  g.alpha = alpha;
  g.beta = beta;
  g.A = A;
  g.lda = lda;
  g.B = B;
  g.ldb = ldb;
  g.C = C;
  g.ldc = ldc;
  if (e.off >= 0 && tri == Tri::Lower) g.tri = kTriLower, g.tri_off = e.off;
  if (e.off >= 0 && tri == Tri::Upper) g.tri = kTriUpper, g.tri_off = e.off;
  if (e.off >= 0 && tri == Tri::COut) g.c_lower_off = e.off;  // only C on or below the diagonal is wanted
  gemm_serial(g, kr);
}

// P (rows, keys) = scale Q Kᵀ of the block, then per row exp(s - max) / sum (forward, writing the row's stats)
// or exp(s - max) * inv from the saved stats (backward: the same bits); zeros past the row's last key.
void probabilities(const AttnProblem& p, const Block& k, const Extent& e, const GemmKernels& kr, float* P,
                   bool from_stats) {
  const KernelTable& t = kt();
  const int64_t rows = k.r1 - k.r0;
  // Score tiles wholly past the causal diagonal are written as zeros and never read.
  product(kr, e, Tri::COut, false, true, rows, e.keys, p.hs, p.scale, p.q.row(k.b, k.h, k.r0), p.q.ld,
          p.k.row(k.b, k.h, 0), p.k.ld, 0.0f, P, e.keys);
  float* st = p.stats + ((k.b * p.nkv + k.h) * p.GT + k.r0) * 2;
  for (int64_t i = 0; i < rows; ++i) {
    float* pr = P + i * e.keys;
    const int64_t valid = valid_keys(e, i);
    if (from_stats) {
      t.exp_scale(pr, st[2 * i], st[2 * i + 1], pr, valid);
    } else {
      const float m = t.max(pr, valid);
      const float inv = static_cast<float>(1.0 / t.exp_sum(pr, m, pr, valid));
      for (int64_t c = 0; c < valid; ++c) pr[c] *= inv;
      st[2 * i] = m;
      st[2 * i + 1] = inv;
    }
    std::fill(pr + valid, pr + e.keys, 0.0f);
  }
}

// Where a (b, h)'s dK or dV accumulate: the output's rows, or a part's scratch (Tk x hs, row stride hs).
struct Acc {
  float* p;
  int64_t ld;
};

// d attention over one block, with P = softmax(scale Q Kᵀ) and dO the output's gradient:
// dV += Pᵀ dO; dP = dO Vᵀ; dS = P (dP - rowsum(dP P)); dQ = scale dS K; dK += scale dSᵀ Q.
void backward_block(const AttnProblem& p, const AttnMat& g, const AttnMat* dq, const Acc* dk, const Acc* dv,
                    const Block& k, const GemmKernels& kr) {
  const KernelTable& t = kt();
  const int64_t rows = k.r1 - k.r0, hs = p.hs;
  const Extent e = extent(p, k);
  float* P = scratch(0, rows * e.keys);
  probabilities(p, k, e, kr, P, true);
  const float* G = g.row(k.b, k.h, k.r0);
  if (dv) product(kr, e, Tri::Upper, true, false, e.keys, hs, rows, 1.0f, P, e.keys, G, g.ld, 1.0f, dv->p, dv->ld);
  if (!dq && !dk) return;
  float* D = scratch(1, rows * e.keys);
  product(kr, e, Tri::COut, false, true, rows, e.keys, hs, 1.0f, G, g.ld, p.v.row(k.b, k.h, 0), p.v.ld, 0.0f, D,
          e.keys);
  for (int64_t i = 0; i < rows; ++i) {  // dS, in place of dP
    const float* pr = P + i * e.keys;
    float* dr = D + i * e.keys;
    const int64_t valid = valid_keys(e, i);
    const float dot = static_cast<float>(t.dot(dr, pr, valid));
    for (int64_t c = 0; c < valid; ++c) dr[c] = pr[c] * (dr[c] - dot);
    std::fill(dr + valid, dr + e.keys, 0.0f);
  }
  if (dq) {
    product(kr, e, Tri::Lower, false, false, rows, hs, e.keys, p.scale, D, e.keys, p.k.row(k.b, k.h, 0), p.k.ld,
            0.0f, dq->row(k.b, k.h, k.r0), dq->ld);
  }
  if (dk) {
    product(kr, e, Tri::Upper, true, false, e.keys, hs, rows, p.scale, D, e.keys, p.q.row(k.b, k.h, k.r0), p.q.ld,
            1.0f, dk->p, dk->ld);
  }
}

// Runs fn(task) for task in [0, tasks) over the pool, handed out one at a time; `flops` keeps small problems on
// the calling thread.
template <class F>
void run_tasks(int64_t tasks, double flops, F&& fn) {
  const int64_t workers =
      std::max<int64_t>(1, std::min<int64_t>({static_cast<int64_t>(num_threads()), tasks,
                                              static_cast<int64_t>(flops / 4.0e6)}));
  std::atomic<int64_t> next{0};
  parallel_for(workers, 1, [&](int64_t, int64_t) {
    for (int64_t i; (i = next.fetch_add(1)) < tasks;) fn(i);
  });
}

void zero_rows(float* p, int64_t rows, int64_t cols, int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) std::fill(p + r * ld, p + r * ld + cols, 0.0f);
}
}  // namespace

void attention_forward(const AttnProblem& p, const AttnMat& out) {
  if (p.B == 0 || p.nkv == 0 || p.GT == 0) return;
  const GemmKernels kr = serial_gemm_kernels();
  std::vector<Block> blocks;
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.nkv; ++h) {
      const std::vector<Block> hb = head_blocks(p, b, h);
      blocks.insert(blocks.end(), hb.begin(), hb.end());
    }
  const double flops = 4.0 * p.B * p.nkv * p.GT * p.Tk * p.hs;
  run_tasks(static_cast<int64_t>(blocks.size()), flops, [&](int64_t i) {
    const Block& k = blocks[i];
    const Extent e = extent(p, k);
    float* P = scratch(0, (k.r1 - k.r0) * e.keys);
    probabilities(p, k, e, kr, P, false);
    // O (rows, hs) = P V; P is zero past the diagonal.
    product(kr, e, Tri::Lower, false, false, k.r1 - k.r0, p.hs, e.keys, 1.0f, P, e.keys, p.v.row(k.b, k.h, 0),
            p.v.ld, 0.0f, out.row(k.b, k.h, k.r0), out.ld);
  });
}

void attention_backward(const AttnProblem& p, const AttnMat& g, const AttnMat* dq, const AttnMat* dk,
                        const AttnMat* dv) {
  const int64_t heads = p.B * p.nkv, hs = p.hs, Tk = p.Tk;
  if (heads == 0) return;
  const GemmKernels kr = serial_gemm_kernels();
  const int64_t blocks_per_head = static_cast<int64_t>(head_blocks(p, 0, 0).size());
  const int64_t parts = std::max<int64_t>(1, std::min(blocks_per_head, (kMinTasks + heads - 1) / heads));
  // Parts after the first accumulate dK and dV into scratch: (heads, parts - 1, Tk, hs) each.
  const int64_t acc_size = (parts - 1) * Tk * hs;
  std::vector<float> dk_parts(dk ? heads * acc_size : 0), dv_parts(dv ? heads * acc_size : 0);
  const double flops = 10.0 * heads * p.GT * Tk * hs;
  run_tasks(heads * parts, flops, [&](int64_t task) {
    const int64_t head = task / parts, part = task % parts, b = head / p.nkv, h = head % p.nkv;
    Acc ak{}, av{};
    if (part == 0) {  // into the outputs, zeroed first
      if (dk) ak = {dk->row(b, h, 0), dk->ld};
      if (dv) av = {dv->row(b, h, 0), dv->ld};
      for (const Acc& a : {ak, av})
        if (a.p) zero_rows(a.p, Tk, hs, a.ld);
    } else {
      if (dk) ak = {dk_parts.data() + head * acc_size + (part - 1) * Tk * hs, hs};
      if (dv) av = {dv_parts.data() + head * acc_size + (part - 1) * Tk * hs, hs};
    }
    const std::vector<Block> blocks = head_blocks(p, b, h);
    const int64_t n = static_cast<int64_t>(blocks.size());
    for (int64_t i = n * part / parts; i < n * (part + 1) / parts; ++i)
      backward_block(p, g, dq, dk ? &ak : nullptr, dv ? &av : nullptr, blocks[i], kr);
  });
  if (parts == 1) return;
  // dK, dV of each head += its later parts, in part order.
  run_tasks(heads, 2.0 * heads * acc_size, [&](int64_t head) {
    const int64_t b = head / p.nkv, h = head % p.nkv;
    for (int64_t part = 1; part < parts; ++part)
      for (int64_t r = 0; r < Tk; ++r)
        for (const auto& [out, src] : {std::pair{dk, &dk_parts}, std::pair{dv, &dv_parts}}) {
          if (!out) continue;
          float* o = out->row(b, h, r);
          const float* s = src->data() + head * acc_size + (part - 1) * Tk * hs + r * hs;
          for (int64_t c = 0; c < hs; ++c) o[c] += s[c];
        }
  });
}
}  // namespace lisa
