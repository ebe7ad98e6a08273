// Non-GEMM kernels (float32): op codes shared with src/backends/cpu-native.ts, the per-ISA table of inner
// loops (portable reference and AVX2/FMA), and the whole-tensor kernels that kernels.cpp exposes to JS.
#pragma once
#include <cstdint>

namespace lisa {

// Op codes: the index of each name in UNARY_OPS / BINARY_OPS of src/backends/backend.ts. The addon exports
// the names in this order (kUnaryNames/kBinaryNames) and the TS glue checks them when it loads.
enum UnaryOp : int {
  U_NEG, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_TANH, U_SIGMOID, U_RELU, U_ABS, U_SQUARE, U_GELU, U_SILU, U_AFFINE,
  U_POW, U_COUNT
};
enum BinaryOp : int {
  B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_GELU_GRAD, B_SILU_GRAD, B_RELU_GRAD, B_COUNT
};
extern const char* const kUnaryNames[U_COUNT];
extern const char* const kBinaryNames[B_COUNT];

// AdamW scalars, precomputed in double once per call: see adamw() in the tables.
struct AdamCoef {
  float lrwd;       // lr * wd
  float b1, omb1;   // beta1, 1 - beta1
  float b2, omb2;   // beta2, 1 - beta2
  float inv_bc2;    // 1 / (1 - beta2^step)
  float step_size;  // lr / (1 - beta1^step)
  float eps;
  double gscale;    // the gradient is read as float(g * gscale), as the affine kernel scales it (clip; 1 = none)
};

// Inner loops over contiguous spans; one table per instruction set. Every entry handles any n >= 0.
struct KernelTable {
  const char* name;
  // out[i] = f(x[i]); out may equal x.
  void (*unary)(int op, const float* x, float* out, int64_t n, double alpha, double beta);
  // out[i] = f(a[i*sa], b[i*sb]); out may equal a (sa == 1) or b (sb == 1).
  void (*binary)(int op, const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n);
  double (*sum)(const float* x, int64_t n);                   // float64 accumulation
  double (*sumsq)(const float* x, int64_t n);                 // sum x^2
  double (*sqdev)(const float* x, double mean, int64_t n);    // sum (x - mean)^2
  double (*dot)(const float* a, const float* b, int64_t n);   // sum a*b
  double (*dot3)(const float* a, const float* b, const float* c, int64_t n);  // sum a*b*c
  float (*max)(const float* x, int64_t n);                    // -inf for n == 0
  // out[i] = exp(x[i] - shift) (out may be null: sum only); returns the float64 sum of the exps.
  double (*exp_sum)(const float* x, float shift, float* out, int64_t n);
  // out[i] = exp(x[i] - shift) * scale.
  void (*exp_scale)(const float* x, float shift, float scale, float* out, int64_t n);
  void (*adamw)(float* p, const float* g, float* m, float* v, int64_t n, const AdamCoef& c);
  // acc[i] += double(x[i]) (column sums in float64: each element's sum order is its own, so every table agrees).
  void (*acc_f64)(double* acc, const float* x, int64_t n);
};

extern const KernelTable kPortableTable;  // kernels_portable.cpp: scalar reference, auto-vectorized
const KernelTable* avx2_table();          // kernels_avx2.cpp (only call after cpu_has_avx2())
const KernelTable* avx512_table();        // kernels_avx512.cpp (only call when cpu_level() is Avx512)
bool cpu_has_avx2();                      // AVX2 and FMA at run time
const KernelTable& kt();                  // the active table: the widest cpu_level() allows
bool set_kernel_impl(const char* name);   // "avx512" | "avx2" | "portable"; false when unknown or unsupported
void reset_kernel_table();                // kt() chooses again (after the CPU level cap changed)

// Whole-tensor kernels (kernels_shape.cpp, kernels_rows.cpp). Semantics: src/backends/backend.ts.
// Shapes and strides are int64 arrays of length rank; offsets are in elements.
void copy_strided(const float* src, const int64_t* sstr, float* dst, const int64_t* dstr, const int64_t* shape,
                  int rank);
void fill(float* out, int64_t n, float value);
void unary(int op, const float* x, float* out, int64_t n, double alpha, double beta);
void binary(int op, const float* a, const int64_t* astr, const float* b, const int64_t* bstr, float* out,
            const int64_t* shape, int rank);
void sum_reduce(const float* x, const int64_t* shape, const bool* keep, int rank, float* out);
double sum_squares(const float* x, int64_t n);

void softmax(const float* x, float* out, int64_t rows, int64_t cols, int64_t causalT);
void softmax_backward(const float* y, const float* g, float* dx, int64_t rows, int64_t cols);
void cross_entropy(const float* logits, const int32_t* targets, int64_t rows, int64_t V, int64_t ignore,
                   float* losses, float* lse);
void cross_entropy_backward(const float* logits, const float* lse, const int32_t* targets, int64_t rows, int64_t V,
                            int64_t ignore, const float* scale, float* dlogits);
void layer_norm(const float* x, const float* w, const float* b, int64_t rows, int64_t C, double eps, float* y,
                float* mean, float* rstd);
void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* gy,
                         int64_t rows, int64_t C, float* dx, float* dw, float* db);
void rms_norm(const float* x, const float* w, int64_t rows, int64_t C, double eps, float* y, float* rstd);
void rms_norm_backward(const float* x, const float* w, const float* rstd, const float* gy, int64_t rows, int64_t C,
                       float* dx, float* dw);
void rope(const float* x, const float* cos, const float* sin, int64_t outer, int64_t T, int64_t hs, bool halfSplit,
          bool inverse, float* out);
void embedding(const float* weight, const int32_t* ids, int64_t n, int64_t C, float* out);
// The same gather from a bfloat16 weight (bits), each value widened exactly to float32.
void embedding_bf16(const uint16_t* weight, const int32_t* ids, int64_t n, int64_t C, float* out);
void embedding_backward(const int32_t* ids, const float* g, int64_t n, int64_t C, float* dweight);
void adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr, double beta1, double beta2,
           double eps, double wd, double step);
// One tensor of a fused multi-tensor AdamW step.
struct AdamwTensor {
  float* p;
  const float* g;
  float* m;
  float* v;
  int64_t n;
  double wd, step;
};
// adamw() on every tensor, with the gradients read as g * gscale, in one parallel pass over all of them.
void adamw_many(const AdamwTensor* ts, int64_t k, double lr, double beta1, double beta2, double eps, double gscale);

}  // namespace lisa
