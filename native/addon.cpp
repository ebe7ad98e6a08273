// N-API module entry: each native/*.cpp registers its own exports here.
#include <napi.h>
#include "register.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterThreads(env, exports);
  RegisterGemm(env, exports);
  RegisterKernels(env, exports);
  RegisterAttention(env, exports);
  RegisterInterrupt(env, exports);
  RegisterMemory(env, exports);
  RegisterBf16Cast(env, exports);
  return exports;
}

NODE_API_MODULE(lisa_native, Init)
