// Transparent huge pages for large tensor buffers. A first touch of a 4 KiB page costs ~18 us on the VMs this
// runs on (a fresh 28 MB buffer: 130 ms before its first write ends), 2 MiB pages fault 512x fewer times, and
// THP is 'madvise' by default on Debian, so large buffers ask for them (MADV_HUGEPAGE) before their first touch.
#include <napi.h>

#include <cstdint>
#include <sys/mman.h>

#include "register.h"

namespace {
constexpr uintptr_t kHuge = uintptr_t(2) << 20;

// adviseHugePages(typedArray): MADV_HUGEPAGE on the 2 MiB-aligned part of its memory; returns the bytes advised
// (0 when there is no whole aligned 2 MiB inside it, or madvise fails: the buffer works either way).
Napi::Value AdviseHugePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "adviseHugePages: expected a typed array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray t = info[0].As<Napi::TypedArray>();
  auto* base = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(base) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(base) + t.ByteLength()) & ~(kHuge - 1);
  double advised = 0;
#ifdef MADV_HUGEPAGE
  if (hi > lo && madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE) == 0) advised = double(hi - lo);
#endif
  return Napi::Number::New(env, advised);
}
}  // namespace

void RegisterMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("adviseHugePages", Napi::Function::New(env, AdviseHugePages, "adviseHugePages"));
}
