// Fused scaled-dot-product attention (attention.cpp): the layout of its operands and the two entry points.
#pragma once
#include <cstdint>

namespace lisa {
// The (rows, hs) matrices of one operand, one per (batch b, kv head h): row r of (b, h) starts at
// p + b * b_stride + h * h_stride + r * ld (the hs values of a row are contiguous).
struct AttnMat {
  float* p;
  int64_t ld, h_stride, b_stride;
  float* row(int64_t b, int64_t h, int64_t r) const { return p + b * b_stride + h * h_stride + r * ld; }
};

// B batches of nkv kv heads. Each kv head serves GT / T query heads (grouped-query attention), whose T rows each
// are read as one matrix of GT query rows; k and v have Tk rows. Query row r sits at position r % T and, when
// causal, sees keys j <= r % T + Tk - T (Tk > T: earlier keys, as a KV cache). Requires Tk >= T when causal.
struct AttnProblem {
  int64_t B, nkv, GT, T, Tk, hs;
  float scale;
  bool causal;
  AttnMat q, k, v;
  // (B, nkv, GT, 2): per query row, the max of its scaled scores and 1 / the sum of their exps (the softmax's
  // statistics), written by the forward and read by the backward to recompute the same probabilities.
  float* stats;
};

// out = softmax(scale q kᵀ, causal) v, per row; writes p.stats.
void attention_forward(const AttnProblem& p, const AttnMat& out);
// The gradients of q, k and v (those not null) from g, the output's gradient; written, not accumulated.
void attention_backward(const AttnProblem& p, const AttnMat& g, const AttnMat* dq, const AttnMat* dk,
                        const AttnMat* dv);
}  // namespace lisa
