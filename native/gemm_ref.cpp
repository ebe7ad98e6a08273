// Naive reference GEMM: a plain triple loop beside the fast kernels (used by tests and setGemmImpl('reference')).
// Accumulates in double; with round_a, alpha*A and a float32 B are rounded to bfloat16 first (the bf16
// dot-product GEMM's inputs; a bfloat16 B is read as it is). Handles every size, K == 0 and alpha == 0 included; beta == 0 never reads C.
#include <cstring>

#include "gemm_impl.h"

namespace lisa {
void gemm_reference(const GemmBatch& p, bool round_a) {
  const GemmArgs& g = p.g;
  for (int64_t b = 0; b < p.batch; ++b) {
    const float* A = g.A + b * p.strideA;
    const float* B = g.Bh ? nullptr : g.B + b * p.strideB;
    const uint16_t* Bh = g.Bh ? g.Bh + b * p.strideB : nullptr;
    float* C = g.C + b * p.strideC;
    for (int64_t i = 0; i < g.M; ++i) {
      for (int64_t j = 0; j < g.N; ++j) {
        double acc = 0.0;
        for (int64_t k = 0; k < g.K; ++k) {
          float a = g.transA ? A[k * g.lda + i] : A[i * g.lda + k];
          if (round_a) a = bf16_to_f32(f32_to_bf16_rne(g.alpha * a));  // alpha applied here, not below
          const int64_t bi = g.transB ? j * g.ldb + k : k * g.ldb + j;
          float v;
          if (Bh) {
            const uint32_t u = static_cast<uint32_t>(Bh[bi]) << 16;  // bfloat16 widened exactly
            std::memcpy(&v, &u, 4);
          } else {
            v = round_a ? bf16_to_f32(f32_to_bf16_rne(B[bi])) : B[bi];
          }
          acc += static_cast<double>(a) * static_cast<double>(v);
        }
        float* c = &C[i * g.ldc + j];
        double out = round_a ? acc : static_cast<double>(g.alpha) * acc;
        if (g.beta != 0.0f) out += static_cast<double>(g.beta) * static_cast<double>(*c);
        if (g.bias) out += static_cast<double>(g.bias[j]);
        *c = static_cast<float>(out);
      }
    }
  }
}
}  // namespace lisa
