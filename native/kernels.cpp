// N-API bindings for the shape kernels (copyStrided, fill, unary, binary, sumReduce, sumSquares) and
// RegisterKernels, which also adds the row kernels of kernels_bind_rows.cpp. Argument order follows the Backend
// interface in src/backends/backend.ts; shapes and strides come packed in one Float64Array `meta`.
#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels.h"
#include "kernels_args.h"
#include "register.h"

namespace {
using namespace lisa;
using lisa::bind::Args;
constexpr int kMaxRank = 64;

// Lowest and highest element offsets touched by offset + sum(i_d * stride_d), i_d < shape_d (shape non-empty).
void extent(int64_t offset, const int64_t* stride, const int64_t* shape, int rank, int64_t* lo, int64_t* hi) {
  *lo = *hi = offset;
  for (int d = 0; d < rank; ++d) {
    const int64_t span = (shape[d] - 1) * stride[d];
    (span < 0 ? *lo : *hi) += span;
  }
}

bool any_zero(const int64_t* shape, int rank) {
  return std::any_of(shape, shape + rank, [](int64_t s) { return s == 0; });
}

// Reads `rank` then a Float64Array meta of k*rank values into int64 meta[] (shape first).
bool read_meta(Args& a, size_t rank_arg, size_t meta_arg, int k, int* rank, int64_t* meta) {
  const int64_t r = a.i64(rank_arg);
  if (a.ok() && (r < 0 || r > kMaxRank)) a.fail("rank must be in [0, 64]", true);
  const double* m = a.f64(meta_arg, k * r);
  if (!a.ok()) return false;
  *rank = static_cast<int>(r);
  for (int64_t i = 0; i < k * r; ++i) meta[i] = static_cast<int64_t>(m[i]);
  for (int d = 0; d < r; ++d) {
    if (meta[d] < 0) {
      a.fail("negative dimension", true);
      return false;
    }
  }
  return true;
}

// Checks that offset + strides over shape stays inside a buffer of length len.
bool check_view(Args& a, size_t buf_arg, int64_t offset, const int64_t* stride, const int64_t* shape, int rank) {
  if (any_zero(shape, rank)) return true;
  int64_t lo, hi;
  extent(offset, stride, shape, rank, &lo, &hi);
  if (lo < 0 || hi >= a.len(buf_arg)) {
    a.fail(a.arg(buf_arg) + ": strided view [" + std::to_string(lo) + ", " + std::to_string(hi) +
           "] outside a buffer of " + std::to_string(a.len(buf_arg)), true);
    return false;
  }
  return true;
}

// copyStrided(src, srcOffset, dst, dstOffset, rank, meta = [shape, srcStrides, dstStrides])
Napi::Value CopyStrided(const Napi::CallbackInfo& info) {
  Args a(info, "copyStrided", 6);
  float* src = a.f32(0, 0);
  const int64_t so = a.i64(1);
  float* dst = a.f32(2, 0);
  const int64_t dof = a.i64(3);
  int rank = 0;
  int64_t m[3 * kMaxRank];
  if (!read_meta(a, 4, 5, 3, &rank, m)) return info.Env().Undefined();
  const int64_t *shape = m, *ss = shape + rank, *ds = ss + rank;
  if (!check_view(a, 0, so, ss, shape, rank) || !check_view(a, 2, dof, ds, shape, rank)) return info.Env().Undefined();
  if (!any_zero(shape, rank)) copy_strided(src + so, ss, dst + dof, ds, shape, rank);
  return info.Env().Undefined();
}

// fill(out, value): every element of out.
Napi::Value Fill(const Napi::CallbackInfo& info) {
  Args a(info, "fill", 2);
  float* out = a.f32(0, 0);
  const double v = a.num(1);
  if (a.ok()) fill(out, a.len(0), static_cast<float>(v));
  return info.Env().Undefined();
}

// unary(op, x, out, n, alpha, beta)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Args a(info, "unary", 6);
  const int64_t op = a.i64(0), n = a.i64(3);
  if (a.ok() && (op < 0 || op >= U_COUNT)) a.fail("unknown unary op code " + std::to_string(op), true);
  const float* x = a.f32(1, n);
  float* out = a.f32(2, n);
  const double alpha = a.num(4), beta = a.num(5);
  if (a.ok()) unary(static_cast<int>(op), x, out, n, alpha, beta);
  return info.Env().Undefined();
}

// binary(op, a, aOffset, b, bOffset, out, rank, meta = [shape, aStrides, bStrides])
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Args a(info, "binary", 8);
  const int64_t op = a.i64(0);
  if (a.ok() && (op < 0 || op >= B_COUNT)) a.fail("unknown binary op code " + std::to_string(op), true);
  const float* x = a.f32(1, 0);
  const int64_t xo = a.i64(2);
  const float* y = a.f32(3, 0);
  const int64_t yo = a.i64(4);
  float* out = a.f32(5, 0);
  int rank = 0;
  int64_t m[3 * kMaxRank];
  if (!read_meta(a, 6, 7, 3, &rank, m)) return info.Env().Undefined();
  const int64_t *shape = m, *as = shape + rank, *bs = as + rank;
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) n *= shape[d];
  if (n == 0) return info.Env().Undefined();
  if (!check_view(a, 1, xo, as, shape, rank) || !check_view(a, 3, yo, bs, shape, rank)) return info.Env().Undefined();
  if (a.len(5) < n) {
    a.fail("out has " + std::to_string(a.len(5)) + " elements, needs " + std::to_string(n), true);
    return info.Env().Undefined();
  }
  binary(static_cast<int>(op), x + xo, as, y + yo, bs, out, shape, rank);
  return info.Env().Undefined();
}

// sumReduce(x, out, rank, meta = [shape, keep (0/1)])
Napi::Value SumReduce(const Napi::CallbackInfo& info) {
  Args a(info, "sumReduce", 4);
  const float* x = a.f32(0, 0);
  float* out = a.f32(1, 0);
  int rank = 0;
  int64_t m[3 * kMaxRank];
  if (!read_meta(a, 2, 3, 2, &rank, m)) return info.Env().Undefined();
  int64_t n = 1, on = 1;
  bool keep[kMaxRank];
  for (int d = 0; d < rank; ++d) {
    keep[d] = m[rank + d] != 0;
    n *= m[d];
    if (keep[d]) on *= m[d];
  }
  if (a.len(0) < n || a.len(1) < on) {
    a.fail("buffers too small for the shape", true);
    return info.Env().Undefined();
  }
  sum_reduce(x, m, keep, rank, out);
  return info.Env().Undefined();
}

// sumSquares(x, n) -> number
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a(info, "sumSquares", 2);
  const int64_t n = a.i64(1);
  const float* x = a.f32(0, n);
  if (!a.ok()) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), sum_squares(x, n));
}
}  // namespace

// Row kernels and the table switch live in kernels_bind_rows.cpp.
void RegisterRowKernels(Napi::Env env, Napi::Object exports);

void RegisterKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("copyStrided", Napi::Function::New(env, CopyStrided, "copyStrided"));
  exports.Set("fill", Napi::Function::New(env, Fill, "fill"));
  exports.Set("unary", Napi::Function::New(env, Unary, "unary"));
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
  exports.Set("sumReduce", Napi::Function::New(env, SumReduce, "sumReduce"));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares, "sumSquares"));
  RegisterRowKernels(env, exports);
}
