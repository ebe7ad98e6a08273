// float32 <-> bfloat16 casts of whole weights on the thread pool (a LISA switch with bf16 weights makes fp32
// masters of the blocks it activates and rounds the ones it freezes back): round to nearest even with NaN kept
// NaN (sign kept, quiet bit set) and denormals kept, as torch's .to(torch.bfloat16) and src/util/bf16.ts;
// widening is exact. Plain integer loops, which the compiler vectorises.
#include <napi.h>

#include <cstdint>
#include <cstring>

#include "kernels_args.h"
#include "register.h"
#include "threadpool.h"

namespace {
using lisa::bind::Args;

constexpr int64_t kGrain = 1 << 16;  // values per task: the pool only pays off on large tensors

inline uint16_t round_bf16(uint32_t b) {
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0) return static_cast<uint16_t>((b >> 16) | 0x0040u);
  return static_cast<uint16_t>((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

// castBf16(src: Float32Array, dst: Uint16Array, n): dst[i] = src[i] rounded to bfloat16 bits.
Napi::Value CastBf16(const Napi::CallbackInfo& info) {
  Args a(info, "castBf16", 3);
  const int64_t n = a.size(2);
  const float* src = a.f32(0, n);
  uint16_t* dst = a.u16(1, n);
  if (a.ok()) {
    lisa::parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        uint32_t b;
        std::memcpy(&b, src + i, 4);
        dst[i] = round_bf16(b);
      }
    });
  }
  return info.Env().Undefined();
}

// widenBf16(src: Uint16Array, dst: Float32Array, n): dst[i] = the float32 value of bfloat16 bits src[i].
Napi::Value WidenBf16(const Napi::CallbackInfo& info) {
  Args a(info, "widenBf16", 3);
  const int64_t n = a.size(2);
  const uint16_t* src = a.u16(0, n);
  float* dst = a.f32(1, n);
  if (a.ok()) {
    lisa::parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const uint32_t b = static_cast<uint32_t>(src[i]) << 16;
        std::memcpy(dst + i, &b, 4);
      }
    });
  }
  return info.Env().Undefined();
}
}  // namespace

void RegisterBf16Cast(Napi::Env env, Napi::Object exports) {
  exports.Set("castBf16", Napi::Function::New(env, CastBf16, "castBf16"));
  exports.Set("widenBf16", Napi::Function::New(env, WidenBf16, "widenBf16"));
}
