// Registration hooks: each native source file adds its functions to the module's exports.
#pragma once
#include <napi.h>

void RegisterThreads(Napi::Env env, Napi::Object exports);  // threadpool.cpp: setNumThreads, getNumThreads
void RegisterGemm(Napi::Env env, Napi::Object exports);     // gemm.cpp: gemm, gemmInfo, setGemmImpl
void RegisterKernels(Napi::Env env, Napi::Object exports);  // kernels.cpp: elementwise, row ops, adamw
void RegisterAttention(Napi::Env env, Napi::Object exports);  // attention_bind.cpp: attentionForward/Backward
void RegisterInterrupt(Napi::Env env, Napi::Object exports);  // interrupt.cpp: interruptInstall/Restore/Pending
void RegisterMemory(Napi::Env env, Napi::Object exports);     // memory.cpp: adviseHugePages
void RegisterBf16Cast(Napi::Env env, Napi::Object exports);   // bf16_cast.cpp: castBf16, widenBf16
