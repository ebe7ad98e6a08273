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

// castBf16(src: Float32Array, dst: Uint16Array, n): dst[i] = src[i] rounded to bfloat16 bits (kRound);
// widenBf16(src: Uint16Array, dst: Float32Array, n): dst[i] = the float32 value of bfloat16 bits src[i].
template <bool kRound>
Napi::Value Convert(const Napi::CallbackInfo& info) {
  Args a(info, kRound ? "castBf16" : "widenBf16", 3);
  const int64_t n = a.size(2);
  void* src = kRound ? static_cast<void*>(a.f32(0, n)) : static_cast<void*>(a.u16(0, n));
  void* dst = kRound ? static_cast<void*>(a.u16(1, n)) : static_cast<void*>(a.f32(1, n));
  if (!a.ok()) return info.Env().Undefined();
  // The pointers as typed locals, so the compiler knows the stores cannot change them and vectorises the loops.
  lisa::parallel_for(n, kGrain, [src, dst](int64_t i0, int64_t i1) {
    if constexpr (kRound) {
      const float* s = static_cast<const float*>(src);
      uint16_t* d = static_cast<uint16_t*>(dst);
      for (int64_t i = i0; i < i1; ++i) {
        uint32_t b;
        std::memcpy(&b, s + i, 4);
        d[i] = round_bf16(b);
      }
    } else {
      const uint16_t* s = static_cast<const uint16_t*>(src);
      float* d = static_cast<float*>(dst);
      for (int64_t i = i0; i < i1; ++i) {
        const uint32_t b = static_cast<uint32_t>(s[i]) << 16;
        std::memcpy(d + i, &b, 4);
      }
    }
  });
  return info.Env().Undefined();
}
}  // namespace

void RegisterBf16Cast(Napi::Env env, Napi::Object exports) {
  exports.Set("castBf16", Napi::Function::New(env, Convert<true>, "castBf16"));
  exports.Set("widenBf16", Napi::Function::New(env, Convert<false>, "widenBf16"));
}
