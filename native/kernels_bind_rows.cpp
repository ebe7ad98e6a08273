// N-API bindings for the row kernels (softmax, cross-entropy, norms, RoPE, embedding, AdamW) and for the kernel
// table switch (kernelInfo, setKernelImpl). Argument order follows src/backends/backend.ts.
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cpu_features.h"
#include "kernels.h"
#include "kernels_args.h"

namespace {
using namespace lisa;
using lisa::bind::Args;

Napi::Value Undef(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

// softmax(x, out, rows, cols, causalT)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Args a(info, "softmax", 5);
  const int64_t rows = a.size(2), cols = a.size(3), causalT = a.size(4);
  const float* x = a.f32(0, rows * cols);
  float* out = a.f32(1, rows * cols);
  if (a.ok()) softmax(x, out, rows, cols, causalT);
  return Undef(info);
}

// softmaxBackward(y, g, dx, rows, cols)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Args a(info, "softmaxBackward", 5);
  const int64_t rows = a.size(3), cols = a.size(4);
  const float* y = a.f32(0, rows * cols);
  const float* g = a.f32(1, rows * cols);
  float* dx = a.f32(2, rows * cols);
  if (a.ok()) softmax_backward(y, g, dx, rows, cols);
  return Undef(info);
}

// Every target must be ignoreIndex or a class in [0, V): the kernels index logits with it.
bool check_targets(Args& a, const int32_t* t, int64_t rows, int64_t V, int64_t ignore) {
  for (int64_t r = 0; a.ok() && r < rows; ++r) {
    if (t[r] != ignore && (t[r] < 0 || t[r] >= V)) {
      a.fail("target " + std::to_string(t[r]) + " at row " + std::to_string(r) + " outside [0, " +
             std::to_string(V) + ")", true);
    }
  }
  return a.ok();
}

// crossEntropy(logits, targets, rows, V, ignoreIndex, losses, lse)
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropy", 7);
  const int64_t rows = a.size(2), V = a.size(3), ignore = a.i64(4);
  const float* logits = a.f32(0, rows * V);
  const int32_t* targets = a.i32(1, rows);
  float* losses = a.f32(5, rows);
  float* lse = a.f32(6, rows);
  if (a.ok() && V == 0 && rows > 0) a.fail("V must be > 0", true);
  if (a.ok() && check_targets(a, targets, rows, V, ignore)) cross_entropy(logits, targets, rows, V, ignore, losses, lse);
  return Undef(info);
}

// crossEntropyBackward(logits, lse, targets, rows, V, ignoreIndex, scale, dlogits)
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropyBackward", 8);
  const int64_t rows = a.size(3), V = a.size(4), ignore = a.i64(5);
  const float* logits = a.f32(0, rows * V);
  const float* lse = a.f32(1, rows);
  const int32_t* targets = a.i32(2, rows);
  const float* scale = a.f32(6, rows);
  float* dl = a.f32(7, rows * V);
  if (a.ok() && check_targets(a, targets, rows, V, ignore)) {
    cross_entropy_backward(logits, lse, targets, rows, V, ignore, scale, dl);
  }
  return Undef(info);
}

// layerNorm(x, w, b | null, rows, C, eps, y, mean, rstd)
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Args a(info, "layerNorm", 9);
  const int64_t rows = a.size(3), C = a.size(4);
  const double eps = a.num(5);
  const float* x = a.f32(0, rows * C);
  const float* w = a.f32(1, C);
  const float* b = a.f32(2, C, true);
  float* y = a.f32(6, rows * C);
  float* mean = a.f32(7, rows);
  float* rstd = a.f32(8, rows);
  if (a.ok()) layer_norm(x, w, b, rows, C, eps, y, mean, rstd);
  return Undef(info);
}

// layerNormBackward(x, w, mean, rstd, gy, rows, C, dx | null, dw | null, db | null)
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Args a(info, "layerNormBackward", 10);
  const int64_t rows = a.size(5), C = a.size(6);
  const float* x = a.f32(0, rows * C);
  const float* w = a.f32(1, C);
  const float* mean = a.f32(2, rows);
  const float* rstd = a.f32(3, rows);
  const float* gy = a.f32(4, rows * C);
  float* dx = a.f32(7, rows * C, true);
  float* dw = a.f32(8, C, true);
  float* db = a.f32(9, C, true);
  if (a.ok()) layer_norm_backward(x, w, mean, rstd, gy, rows, C, dx, dw, db);
  return Undef(info);
}

// rmsNorm(x, w, rows, C, eps, y, rstd)
Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  Args a(info, "rmsNorm", 7);
  const int64_t rows = a.size(2), C = a.size(3);
  const double eps = a.num(4);
  const float* x = a.f32(0, rows * C);
  const float* w = a.f32(1, C);
  float* y = a.f32(5, rows * C);
  float* rstd = a.f32(6, rows);
  if (a.ok()) rms_norm(x, w, rows, C, eps, y, rstd);
  return Undef(info);
}

// rmsNormBackward(x, w, rstd, gy, rows, C, dx | null, dw | null)
Napi::Value RmsNormBackward(const Napi::CallbackInfo& info) {
  Args a(info, "rmsNormBackward", 8);
  const int64_t rows = a.size(4), C = a.size(5);
  const float* x = a.f32(0, rows * C);
  const float* w = a.f32(1, C);
  const float* rstd = a.f32(2, rows);
  const float* gy = a.f32(3, rows * C);
  float* dx = a.f32(6, rows * C, true);
  float* dw = a.f32(7, C, true);
  if (a.ok()) rms_norm_backward(x, w, rstd, gy, rows, C, dx, dw);
  return Undef(info);
}

// rope(x, cos, sin, outer, T, hs, halfSplit, inverse, out)
Napi::Value Rope(const Napi::CallbackInfo& info) {
  Args a(info, "rope", 9);
  const int64_t outer = a.size(3), T = a.size(4), hs = a.size(5);
  const bool half = a.flag(6), inverse = a.flag(7);
  const int64_t n = outer * T * hs;
  const float* x = a.f32(0, n);
  const float* cs = a.f32(1, T * (hs / 2));
  const float* sn = a.f32(2, T * (hs / 2));
  float* out = a.f32(8, n);
  if (a.ok() && T == 0 && outer > 0 && hs > 0) a.fail("T must be > 0", true);
  if (a.ok() && T > 0) rope(x, cs, sn, outer, T, hs, half, inverse, out);
  return Undef(info);
}

// Every id must index a row of a (rows, C) weight.
bool check_ids(Args& a, const int32_t* ids, int64_t n, int64_t rows) {
  for (int64_t i = 0; a.ok() && i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= rows) {
      a.fail("id " + std::to_string(ids[i]) + " at " + std::to_string(i) + " outside [0, " + std::to_string(rows) +
             ")", true);
    }
  }
  return a.ok();
}

// embedding(weight, ids, n, C, out); weight is a Float32Array or a Uint16Array of bfloat16 bits (widened).
Napi::Value Embedding(const Napi::CallbackInfo& info) {
  Args a(info, "embedding", 5);
  const int64_t n = a.size(2), C = a.size(3);
  const bool bf16 = a.ok() && a.is_u16(0);
  const float* weight = bf16 ? nullptr : a.f32(0, 0);
  const uint16_t* wbits = bf16 ? a.u16(0, 0) : nullptr;
  const int32_t* ids = a.i32(1, n);
  float* out = a.f32(4, n * C);
  if (a.ok() && C > 0 && check_ids(a, ids, n, a.len(0) / C)) {
    if (bf16) embedding_bf16(wbits, ids, n, C, out);
    else embedding(weight, ids, n, C, out);
  }
  return Undef(info);
}

// embeddingBackward(ids, g, n, C, dweight)
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args a(info, "embeddingBackward", 5);
  const int64_t n = a.size(2), C = a.size(3);
  const int32_t* ids = a.i32(0, n);
  const float* g = a.f32(1, n * C);
  float* dweight = a.f32(4, 0);
  if (a.ok() && C > 0 && check_ids(a, ids, n, a.len(4) / C)) embedding_backward(ids, g, n, C, dweight);
  return Undef(info);
}

// adamw(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, step), in place on p, m, v.
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Args a(info, "adamw", 11);
  const int64_t n = a.size(4);
  const double lr = a.num(5), b1 = a.num(6), b2 = a.num(7), eps = a.num(8), wd = a.num(9), step = a.num(10);
  float* p = a.f32(0, n);
  const float* g = a.f32(1, n);
  float* m = a.f32(2, n);
  float* v = a.f32(3, n);
  if (a.ok()) adamw(p, g, m, v, n, lr, b1, b2, eps, wd, step);
  return Undef(info);
}

// adamwMany(ps, gs, ms, vs, meta, lr, beta1, beta2, eps, gradScale): ps..vs are arrays of k Float32Arrays,
// meta a Float64Array of [n, weightDecay, step] per tensor; one fused AdamW step over all k tensors.
Napi::Value AdamWMany(const Napi::CallbackInfo& info) {
  Args a(info, "adamwMany", 10);
  const double lr = a.num(5), b1 = a.num(6), b2 = a.num(7), eps = a.num(8), gscale = a.num(9);
  if (!a.ok()) return Undef(info);
  Napi::Env env = info.Env();
  for (int j = 0; j < 4; ++j) {
    if (!info[j].IsArray()) {
      a.fail(a.arg(j) + " must be an array of Float32Array");
      return Undef(info);
    }
  }
  const uint32_t k = info[0].As<Napi::Array>().Length();
  if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[4].As<Napi::TypedArray>().ElementLength() < 3 * static_cast<size_t>(k)) {
    a.fail("argument 4 must be a Float64Array of 3 values per tensor", true);
    return Undef(info);
  }
  const double* meta = info[4].As<Napi::Float64Array>().Data();
  std::vector<AdamwTensor> ts(k);
  for (uint32_t i = 0; i < k; ++i) {
    const double n = meta[3 * i];
    if (!(n >= 0 && n <= 9007199254740992.0)) {
      a.fail("tensor " + std::to_string(i) + ": n must be a size >= 0", true);
      return Undef(info);
    }
    float* bufs[4];
    for (int j = 0; j < 4; ++j) {
      Napi::Array arr = info[j].As<Napi::Array>();
      Napi::Value x = i < arr.Length() ? arr.Get(i) : env.Undefined();
      if (!x.IsTypedArray() || x.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
          static_cast<double>(x.As<Napi::TypedArray>().ElementLength()) < n) {
        a.fail(a.arg(j) + "[" + std::to_string(i) + "] must be a Float32Array of at least " +
               std::to_string(static_cast<int64_t>(n)) + " elements", true);
        return Undef(info);
      }
      bufs[j] = x.As<Napi::Float32Array>().Data();
    }
    ts[i] = {bufs[0], bufs[1], bufs[2], bufs[3], static_cast<int64_t>(n), meta[3 * i + 1], meta[3 * i + 2]};
  }
  adamw_many(ts.data(), k, lr, b1, b2, eps, gscale);
  return Undef(info);
}

Napi::Array Names(Napi::Env env, const char* const* names, int n) {
  Napi::Array arr = Napi::Array::New(env, n);
  for (int i = 0; i < n; ++i) arr.Set(static_cast<uint32_t>(i), Napi::String::New(env, names[i]));
  return arr;
}

// kernelInfo() -> { impl: 'avx512' | 'avx2' | 'portable', avx2: boolean, avx512: boolean, unaryOps: string[],
//   binaryOps: string[] } (avx512: the AVX-512 table may be chosen, within the LISA_CPU cap)
Napi::Value KernelInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("impl", Napi::String::New(env, kt().name));
  o.Set("avx2", Napi::Boolean::New(env, cpu_has_avx2()));
  o.Set("avx512", Napi::Boolean::New(env, cpu_level() == CpuLevel::Avx512));
  o.Set("unaryOps", Names(env, kUnaryNames, U_COUNT));
  o.Set("binaryOps", Names(env, kBinaryNames, B_COUNT));
  return o;
}

// setKernelImpl('avx512' | 'avx2' | 'portable') -> boolean (false: unknown, or missing on this CPU / over the cap)
Napi::Value SetKernelImpl(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(info.Env(), "setKernelImpl: expected 'avx512', 'avx2' or 'portable'").ThrowAsJavaScriptException();
    return Undef(info);
  }
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  return Napi::Boolean::New(info.Env(), set_kernel_impl(name.c_str()));
}
}  // namespace

void RegisterRowKernels(Napi::Env env, Napi::Object exports) {
  struct Entry {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  static const Entry entries[] = {
      {"softmax", Softmax},
      {"softmaxBackward", SoftmaxBackward},
      {"crossEntropy", CrossEntropy},
      {"crossEntropyBackward", CrossEntropyBackward},
      {"layerNorm", LayerNorm},
      {"layerNormBackward", LayerNormBackward},
      {"rmsNorm", RmsNorm},
      {"rmsNormBackward", RmsNormBackward},
      {"rope", Rope},
      {"embedding", Embedding},
      {"embeddingBackward", EmbeddingBackward},
      {"adamw", AdamW},
      {"adamwMany", AdamWMany},
      {"kernelInfo", KernelInfo},
      {"setKernelImpl", SetKernelImpl},
  };
  for (const Entry& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
}
