// N-API bindings of the fused attention (attention.cpp). Dimensions and operand layouts come in one Float64Array;
// every dimension, stride and offset is checked, and every operand's last element must lie inside its array,
// before the kernel runs (a JS error, never a crash).
//   attentionForward(meta, q, k, v, out, stats)
//     meta = [B, nkv, GT, T, Tk, hs, scale, causal, then offset, ld, hStride, bStride of q, k, v, out]
//   attentionBackward(meta, q, k, v, stats, g, dq | null, dk | null, dv | null)
//     meta = [the 8 dims, then the layouts of q, k, v, g, dq, dk, dv (those of null gradients ignored)]
#include <napi.h>

#include <cmath>
#include <string>

#include "attention.h"
#include "kernels_args.h"
#include "register.h"

namespace {
using lisa::AttnMat;
using lisa::AttnProblem;
using lisa::bind::Args;

constexpr double kMaxInt = 4503599627370496.0;  // 2^52
constexpr int kDims = 8, kLayout = 4;

Napi::Value Undef(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

// Reads meta (a Float64Array of `count` numbers) and checks the dims; fills p except its pointers.
const double* read_dims(Args& a, int count, AttnProblem& p) {
  const double* m = a.f64(0, count);
  if (!a.ok()) return nullptr;
  for (int i = 0; i < count; ++i) {
    if (i == 6) continue;  // scale: any finite number
    if (!(m[i] >= 0 && m[i] <= kMaxInt && m[i] == std::floor(m[i]))) {
      a.fail("meta[" + std::to_string(i) + "] = " + std::to_string(m[i]) + " must be an integer >= 0", true);
      return nullptr;
    }
  }
  p.B = static_cast<int64_t>(m[0]), p.nkv = static_cast<int64_t>(m[1]), p.GT = static_cast<int64_t>(m[2]);
  p.T = static_cast<int64_t>(m[3]), p.Tk = static_cast<int64_t>(m[4]), p.hs = static_cast<int64_t>(m[5]);
  p.scale = static_cast<float>(m[6]);
  p.causal = m[7] != 0;
  std::string why;
  if (!std::isfinite(m[6])) why = "scale must be finite";
  else if (p.hs < 1 || p.Tk < 1 || p.T < 1) why = "hs, T and Tk must be >= 1";
  else if (p.GT % p.T != 0) why = "GT (query rows per kv head) must be a multiple of T";
  else if (p.causal && p.Tk < p.T) why = "causal attention needs Tk >= T";
  if (!why.empty()) a.fail(why, true);
  return a.ok() ? m : nullptr;
}

// Operand at argument i with layout l (offset, ld, hStride, bStride) over rows x hs matrices; null when nullable
// and null.
bool read_mat(Args& a, size_t i, const double* l, const AttnProblem& p, int64_t rows, AttnMat* out,
              bool nullable = false) {
  *out = {nullptr, 0, 0, 0};
  if (nullable && !a.f32(i, 0, true)) return a.ok();  // a null gradient: not wanted
  const int64_t off = static_cast<int64_t>(l[0]), ld = static_cast<int64_t>(l[1]);
  const int64_t hst = static_cast<int64_t>(l[2]), bst = static_cast<int64_t>(l[3]);
  if (ld < p.hs) {
    a.fail(a.arg(i) + ": row stride " + std::to_string(ld) + " is smaller than hs " + std::to_string(p.hs), true);
    return false;
  }
  // The last element any (b, h, row) reaches, in double to rule out overflow.
  const double last = static_cast<double>(off) + static_cast<double>(p.B - 1) * bst +
                      static_cast<double>(p.nkv - 1) * hst + static_cast<double>(rows - 1) * ld + (p.hs - 1);
  const bool empty = p.B == 0 || p.nkv == 0 || rows == 0;
  if (!empty && last >= kMaxInt) {
    a.fail(a.arg(i) + ": layout reaches past 2^52", true);
    return false;
  }
  float* base = a.f32(i, empty ? 0 : static_cast<int64_t>(last) + 1);
  if (!a.ok()) return false;
  *out = {base ? base + off : nullptr, ld, hst, bst};  // null: an empty operand (B or nkv is 0)
  return true;
}

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Args a(info, "attentionForward", 6);
  AttnProblem p{};
  const double* m = read_dims(a, kDims + 4 * kLayout, p);
  if (!m) return Undef(info);
  AttnMat out{};
  const double* l = m + kDims;
  if (!read_mat(a, 1, l, p, p.GT, &p.q) || !read_mat(a, 2, l + kLayout, p, p.Tk, &p.k) ||
      !read_mat(a, 3, l + 2 * kLayout, p, p.Tk, &p.v) || !read_mat(a, 4, l + 3 * kLayout, p, p.GT, &out))
    return Undef(info);
  p.stats = a.f32(5, p.B * p.nkv * p.GT * 2);
  if (a.ok()) lisa::attention_forward(p, out);
  return Undef(info);
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args a(info, "attentionBackward", 9);
  AttnProblem p{};
  const double* m = read_dims(a, kDims + 7 * kLayout, p);
  if (!m) return Undef(info);
  const double* l = m + kDims;
  AttnMat g{}, dq{}, dk{}, dv{};
  if (!read_mat(a, 1, l, p, p.GT, &p.q) || !read_mat(a, 2, l + kLayout, p, p.Tk, &p.k) ||
      !read_mat(a, 3, l + 2 * kLayout, p, p.Tk, &p.v))
    return Undef(info);
  p.stats = a.f32(4, p.B * p.nkv * p.GT * 2);
  if (!a.ok() || !read_mat(a, 5, l + 3 * kLayout, p, p.GT, &g) ||
      !read_mat(a, 6, l + 4 * kLayout, p, p.GT, &dq, true) || !read_mat(a, 7, l + 5 * kLayout, p, p.Tk, &dk, true) ||
      !read_mat(a, 8, l + 6 * kLayout, p, p.Tk, &dv, true))
    return Undef(info);
  lisa::attention_backward(p, g, dq.p ? &dq : nullptr, dk.p ? &dk : nullptr, dv.p ? &dv : nullptr);
  return Undef(info);
}
}  // namespace

void RegisterAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward, "attentionForward"));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward, "attentionBackward"));
}
