// GEMM entry point for JS: argument unpacking with cheap bounds checks (a JS error, never a crash), and the
// choice of implementation: OpenBLAS (cblas_sgemm per batch item), the built-in blocked kernel (AVX2/FMA or
// portable after a CPU check), or the naive reference.
//
// JS exports:
//   gemm(transA, transB, M, N, K, alpha, beta, batch, a, aOffset, lda, aBatchStride,
//        b, bOffset, ldb, bBatchStride, c, cOffset, ldc, cBatchStride, bf16Dot?, triangle?, triangleOffset?,
//        cLowerOffset?, bias?): void
//     bias (a Float32Array of >= N): C += bias[j] on every row, after alpha op(A) op(B) + beta C.
//     triangle (0 none, 1 lower, 2 upper) and triangleOffset: op(A) is promised zero on one side of a diagonal
//     (GemmArgs.tri); the built-in kernels skip those k steps, the others compute the full product.
//     cLowerOffset >= 0: only C[i][j] with j <= i + cLowerOffset is wanted (GemmArgs.c_lower_off); the built-in
//     kernels write register tiles wholly past it as zeros (elements past it are zero or the product).
//     bf16Dot (train.matmulPrecision 'bfloat16'): alpha*A and a float32 B are rounded to bfloat16 (RNE) while
//     packing (a bfloat16 b is read as it is) and the product accumulates in fp32 (vdpbf16ps, or its exact
//     emulation), whatever the impl.
//     b may be a Uint16Array of bfloat16 bits (a stored weight): widened in registers while packing (built-in),
//     or per element (reference). When OpenBLAS is the GEMM, bfloat16 GEMMs go to the built-in kernel (measured
//     with bench/gemm-bf16.ts: as fast as fp32 sgemm), or with route 'panels' to OpenBLAS on column panels of
//     op(B) widened into a small scratch (one sgemm per panel; 25-40% slower on 2 threads).
//   setBf16Gemm(route: 'builtin' | 'panels'): void   (default 'builtin'; LISA_BF16_GEMM=panels at load)
//   gemmInfo(): { impl: 'openblas' | 'avx512' | 'avx2' | 'portable' | 'reference', isa, openblasAvailable, avx2,
//                 avx512, avx512bf16, threads, bf16Route, matmulPrecision, bf16Kernel }
//   setGemmImpl(name: 'auto' | 'openblas' | 'builtin' | 'avx512' | 'avx2' | 'portable' | 'reference'): void
//     ('auto': see auto_impl(); 'builtin': the built-in driver with the best kernel cpu_level() allows;
//      'avx512' / 'avx2' / 'portable': that kernel, an error when the CPU (or the LISA_CPU cap) lacks it)
//   setCpuLevel(name: 'avx512' | 'avx2' | 'portable'): void   caps the ISA of every kernel (as LISA_CPU at load)
//   fmaPeak(threads, isa?): number   measured fp32 FMA GFLOPS (fma_peak.cpp), at the widest allowed ISA by default
#include <napi.h>

#include <atomic>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "blas.h"
#include "cpu_features.h"
#include "fma_peak.h"
#include "gemm_impl.h"
#include "register.h"
#include "kernels.h"
#include "threadpool.h"

namespace lisa {
namespace {
enum class Impl { Auto, OpenBlas, Builtin, Avx512, Avx2, Portable, Reference };
std::atomic<Impl> g_impl{Impl::Auto};

// The built-in kernel for the current cpu_level().
GemmKernels builtin_kernels() {
  switch (cpu_level()) {
    case CpuLevel::Avx512: return avx512_kernels();
    case CpuLevel::Avx2: return avx2_kernels();
    default: return portable_kernels();
  }
}

// 'auto': the built-in AVX-512 kernel when the CPU has it, else OpenBLAS when loaded, else the built-in kernel.
// Measured with bench/gemm.ts on Zen 5 (docs/performance.md, "GEMM"): at GPT-2's shapes the AVX-512 kernel beats
// Debian's OpenBLAS at 1 and 2 threads, so OpenBLAS only keeps the AVX2 machines, where it and our AVX2 kernel
// are within a few percent of each other.
Impl auto_impl() {
  if (cpu_level() == CpuLevel::Avx512) return Impl::Builtin;
  return blas::available() ? Impl::OpenBlas : Impl::Builtin;
}

// What a call runs now: the requested implementation, with 'auto' resolved.
Impl effective_impl() {
  Impl impl = g_impl.load();
  if (impl == Impl::Auto) return auto_impl();
  return impl;
}

// C = beta * C + bias (beta == 0: C not read; no bias: 0), for K == 0 or alpha == 0, and before an OpenBLAS
// product with a bias (which then runs with beta 1).
void scale_c(const GemmBatch& p) {
  const GemmArgs& g = p.g;
  for (int64_t b = 0; b < p.batch; ++b) {
    float* C = g.C + b * p.strideC;
    for (int64_t i = 0; i < g.M; ++i) {
      float* row = C + i * g.ldc;
      for (int64_t j = 0; j < g.N; ++j) row[j] = (g.beta == 0.0f ? 0.0f : g.beta * row[j]) + (g.bias ? g.bias[j] : 0.0f);
    }
  }
}

// bfloat16 B under OpenBLAS: the built-in kernel (default) or OpenBLAS on widened panels (setBf16Gemm).
std::atomic<bool> g_bf16_panels{[] {
  const char* e = std::getenv("LISA_BF16_GEMM");
  return e != nullptr && std::strcmp(e, "panels") == 0;
}()};

// OpenBLAS with a bfloat16 B: op(B) is widened a panel of columns at a time (all K rows, about 2 MiB of floats)
// into a reusable scratch, and sgemm computes the matching columns of C. Each column of C comes from one sgemm
// over the whole K, so only OpenBLAS's own blocking differs from the float32 call on the widened values.
void sgemm_bf16_panels(const GemmBatch& p, blas::SgemmFn sgemm) {
  const GemmArgs& g = p.g;
  static thread_local std::vector<float> scratch;
  const int64_t nb = std::min<int64_t>(g.N, std::max<int64_t>(kNR, ((int64_t(1) << 19) / g.K) / kNR * kNR));
  if (scratch.size() < static_cast<size_t>(nb * g.K)) scratch.resize(nb * g.K);
  const int ta = g.transA ? blas::kTrans : blas::kNoTrans, tb = g.transB ? blas::kTrans : blas::kNoTrans;
  for (int64_t b = 0; b < p.batch; ++b) {
    const uint16_t* Bh = g.Bh + b * p.strideB;
    for (int64_t j0 = 0; j0 < g.N; j0 += nb) {
      const int64_t n = std::min(nb, g.N - j0);
      const int64_t ld = widen_bf16_block(g.transB, Bh, g.ldb, 0, j0, g.K, n, scratch.data());
      sgemm(blas::kRowMajor, ta, tb, static_cast<int>(g.M), static_cast<int>(n), static_cast<int>(g.K), g.alpha,
            g.A + b * p.strideA, static_cast<int>(g.lda), scratch.data(), static_cast<int>(ld), g.beta,
            g.C + b * p.strideC + j0, static_cast<int>(g.ldc));
    }
  }
}

bool fits_int(const GemmArgs& g) {
  return g.M <= INT_MAX && g.N <= INT_MAX && g.K <= INT_MAX && g.lda <= INT_MAX && g.ldb <= INT_MAX &&
         g.ldc <= INT_MAX;
}

}  // namespace

GemmKernels serial_gemm_kernels() {
  switch (g_impl.load()) {
    case Impl::Avx512: return avx512_kernels();
    case Impl::Avx2: return avx2_kernels();
    case Impl::Portable: return portable_kernels();
    default: return builtin_kernels();
  }
}

namespace {
void run_gemm(const GemmBatch& p_in, bool bf16_dot) {
  GemmBatch p = p_in;
  GemmArgs& g = p.g;
  if (p.batch <= 0 || g.M <= 0 || g.N <= 0) return;
  Impl impl = effective_impl();
  if (impl == Impl::Reference) return gemm_reference(p, bf16_dot);
  if (g.K == 0 || g.alpha == 0.0f) return scale_c(p);
  if (bf16_dot) return gemm_blocked(p, bf16dot_kernels());
  if (impl == Impl::Portable) return gemm_blocked(p, portable_kernels());
  if (impl == Impl::Avx2) return gemm_blocked(p, avx2_kernels());
  if (impl == Impl::Avx512) return gemm_blocked(p, avx512_kernels());
  if (impl == Impl::OpenBlas && fits_int(g) && g.bias && (!g.Bh || g_bf16_panels.load())) {
    scale_c(p);  // C = beta C + bias, then OpenBLAS adds the product
    g.beta = 1.0f;
    g.bias = nullptr;
  }
  if (impl == Impl::OpenBlas && fits_int(g) && g.Bh) {
    if (g_bf16_panels.load()) return sgemm_bf16_panels(p, blas::sgemm());
  } else if (impl == Impl::OpenBlas && fits_int(g)) {
    blas::SgemmFn sgemm = blas::sgemm();
    const int ta = g.transA ? blas::kTrans : blas::kNoTrans, tb = g.transB ? blas::kTrans : blas::kNoTrans;
    for (int64_t b = 0; b < p.batch; ++b) {
      sgemm(blas::kRowMajor, ta, tb, static_cast<int>(g.M), static_cast<int>(g.N), static_cast<int>(g.K), g.alpha,
            g.A + b * p.strideA, static_cast<int>(g.lda), g.B + b * p.strideB, static_cast<int>(g.ldb), g.beta,
            g.C + b * p.strideC, static_cast<int>(g.ldc));
    }
    return;
  }
  gemm_blocked(p, builtin_kernels());
}
}  // namespace
}  // namespace lisa

namespace {
// Reads info[i] as an integer in [lo, hi]; on failure throws a JS RangeError naming `what` and returns false.
bool ArgInt(const Napi::CallbackInfo& info, size_t i, const char* what, int64_t lo, int64_t hi, int64_t* out) {
  double v = info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : NAN;
  if (!(v >= static_cast<double>(lo) && v <= static_cast<double>(hi)) || v != std::floor(v)) {
    Napi::RangeError::New(info.Env(), std::string("gemm: ") + what + " must be an integer in [" + std::to_string(lo) +
                                          ", " + std::to_string(hi) + "]")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int64_t>(v);
  return true;
}

// Operand b: a Float32Array, or a Uint16Array of bfloat16 bits (then *bits is set and *data is null).
bool ArgF32OrBf16(const Napi::CallbackInfo& info, size_t i, const char* what, float** data, uint16_t** bits,
                  int64_t* len) {
  *bits = nullptr;
  if (info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == napi_uint16_array) {
    Napi::Uint16Array arr = info[i].As<Napi::Uint16Array>();
    *data = nullptr;
    *bits = arr.Data();
    *len = static_cast<int64_t>(arr.ElementLength());
    return true;
  }
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    Napi::TypeError::New(info.Env(), std::string("gemm: ") + what + " must be a Float32Array or (bfloat16) Uint16Array")
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::Float32Array arr = info[i].As<Napi::Float32Array>();
  *data = arr.Data();
  *len = static_cast<int64_t>(arr.ElementLength());
  return true;
}

bool ArgF32(const Napi::CallbackInfo& info, size_t i, const char* what, float** data, int64_t* len) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    Napi::TypeError::New(info.Env(), std::string("gemm: ") + what + " must be a Float32Array")
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::Float32Array arr = info[i].As<Napi::Float32Array>();
  *data = arr.Data();
  *len = static_cast<int64_t>(arr.ElementLength());
  return true;
}

// Checks that every element of the `batch` matrices (rows x cols, row stride *ld) lies inside the array.
// A single row may have any ld (it is raised to cols so that cblas accepts it); an empty operand any ld.
bool CheckOperand(const Napi::CallbackInfo& info, const char* name, int64_t len, int64_t off, int64_t* ld,
                  int64_t stride, int64_t batch, int64_t rows, int64_t cols) {
  if (rows <= 1 && *ld < cols) *ld = cols;
  if (rows == 0 || cols == 0) {  // an empty operand (K == 0) is never read
    if (*ld < 1) *ld = 1;
    return true;
  }
  std::string why;
  if (*ld < cols) {
    why = "leading dimension is smaller than the row length";
  } else {
    // Largest index touched, computed in double to rule out int64 overflow on absurd inputs.
    double last = static_cast<double>(off) + static_cast<double>(batch - 1) * stride +
                  static_cast<double>(rows - 1) * static_cast<double>(*ld) + static_cast<double>(cols - 1);
    if (last >= static_cast<double>(len)) why = "matrix extends past the end of the array";
  }
  if (why.empty()) return true;
  Napi::RangeError::New(info.Env(), std::string("gemm: operand ") + name + ": " + why + " (" + std::to_string(rows) +
                                        "x" + std::to_string(cols) + ", ld " + std::to_string(*ld) + ", offset " +
                                        std::to_string(off) + ", batch " + std::to_string(batch) + " stride " +
                                        std::to_string(stride) + ", array length " + std::to_string(len) + ")")
      .ThrowAsJavaScriptException();
  return false;
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 20) {
    Napi::TypeError::New(env, "gemm: expected 20 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  constexpr int64_t kMax = int64_t(1) << 52;
  lisa::GemmBatch p{};
  lisa::GemmArgs& g = p.g;
  g.transA = info[0].ToBoolean().Value();
  g.transB = info[1].ToBoolean().Value();
  int64_t aOff, bOff, cOff, aLen, bLen, cLen;
  float *a, *b;
  uint16_t* bh;
  if (!ArgInt(info, 2, "M", 0, kMax, &g.M) || !ArgInt(info, 3, "N", 0, kMax, &g.N) ||
      !ArgInt(info, 4, "K", 0, kMax, &g.K))
    return env.Undefined();
  if (!info[5].IsNumber() || !info[6].IsNumber()) {
    Napi::TypeError::New(env, "gemm: alpha and beta must be numbers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  g.alpha = static_cast<float>(info[5].As<Napi::Number>().DoubleValue());
  g.beta = static_cast<float>(info[6].As<Napi::Number>().DoubleValue());
  if (!ArgInt(info, 7, "batch", 0, kMax, &p.batch) || !ArgF32(info, 8, "a", &a, &aLen) ||
      !ArgInt(info, 9, "aOffset", 0, kMax, &aOff) || !ArgInt(info, 10, "lda", 0, kMax, &g.lda) ||
      !ArgInt(info, 11, "aBatchStride", 0, kMax, &p.strideA) || !ArgF32OrBf16(info, 12, "b", &b, &bh, &bLen) ||
      !ArgInt(info, 13, "bOffset", 0, kMax, &bOff) || !ArgInt(info, 14, "ldb", 0, kMax, &g.ldb) ||
      !ArgInt(info, 15, "bBatchStride", 0, kMax, &p.strideB) || !ArgF32(info, 16, "c", &g.C, &cLen) ||
      !ArgInt(info, 17, "cOffset", 0, kMax, &cOff) || !ArgInt(info, 18, "ldc", 0, kMax, &g.ldc) ||
      !ArgInt(info, 19, "cBatchStride", 0, kMax, &p.strideC))
    return env.Undefined();
  if (p.batch == 0 || g.M == 0 || g.N == 0) return env.Undefined();
  const int64_t aRows = g.transA ? g.K : g.M, aCols = g.transA ? g.M : g.K;
  const int64_t bRows = g.transB ? g.N : g.K, bCols = g.transB ? g.K : g.N;
  if (!CheckOperand(info, "a", aLen, aOff, &g.lda, p.strideA, p.batch, aRows, aCols) ||
      !CheckOperand(info, "b", bLen, bOff, &g.ldb, p.strideB, p.batch, bRows, bCols) ||
      !CheckOperand(info, "c", cLen, cOff, &g.ldc, p.strideC, p.batch, g.M, g.N))
    return env.Undefined();
  g.A = a + aOff;
  if (bh) g.Bh = bh + bOff;
  else g.B = b + bOff;
  g.C += cOff;
  if (info.Length() > 21 && !info[21].IsUndefined()) {  // the triangle hint (GemmArgs.tri)
    int64_t tri = 0;
    if (!ArgInt(info, 21, "triangle (0 none, 1 lower, 2 upper)", 0, 2, &tri) ||
        !ArgInt(info, 22, "triangleOffset", 0, kMax, &g.tri_off))
      return env.Undefined();
    g.tri = static_cast<int>(tri);
  }
  if (info.Length() > 23 && !info[23].IsUndefined() &&
      !ArgInt(info, 23, "cLowerOffset (-1: none)", -1, kMax, &g.c_lower_off))
    return env.Undefined();
  if (info.Length() > 24 && !info[24].IsUndefined() && !info[24].IsNull()) {  // bias: N floats
    float* bias;
    int64_t biasLen;
    if (!ArgF32(info, 24, "bias", &bias, &biasLen)) return env.Undefined();
    if (biasLen < g.N) {
      Napi::RangeError::New(env, "gemm: bias has " + std::to_string(biasLen) + " elements, fewer than N = " +
                                     std::to_string(g.N)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    g.bias = bias;
  }
  lisa::run_gemm(p, info.Length() > 20 && info[20].ToBoolean().Value());
  return env.Undefined();
}

Napi::Value GemmInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const lisa::CpuFeatures& f = lisa::cpu_detected();
  const char* impl = "reference";
  switch (lisa::effective_impl()) {
    case lisa::Impl::OpenBlas: impl = "openblas"; break;
    case lisa::Impl::Builtin: impl = lisa::builtin_kernels().name; break;
    case lisa::Impl::Avx512: impl = "avx512"; break;
    case lisa::Impl::Avx2: impl = "avx2"; break;
    case lisa::Impl::Portable: impl = "portable"; break;
    default: break;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("impl", impl);
  out.Set("isa", lisa::cpu_level_name(lisa::cpu_level()));
  out.Set("openblasAvailable", lisa::blas::available());
  out.Set("avx2", f.avx2_fma);
  out.Set("avx512", f.avx512);
  out.Set("avx512bf16", f.avx512_bf16);
  out.Set("threads", lisa::num_threads());
  out.Set("bf16Route", lisa::g_bf16_panels.load() ? "panels" : "builtin");
  out.Set("bf16Kernel", lisa::bf16dot_kernels().name);
  return out;
}

// setCpuLevel('avx512' | 'avx2' | 'portable'): caps the ISA level of every kernel family.
Napi::Value SetCpuLevel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  lisa::CpuLevel level;
  if (!lisa::parse_cpu_level(name.c_str(), &level)) {
    Napi::TypeError::New(env, "setCpuLevel(name): name must be 'avx512', 'avx2' or 'portable'")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  lisa::set_cpu_cap(level);
  lisa::reset_kernel_table();  // the row kernels' table follows the cap too
  return env.Undefined();
}

// fmaPeak(threads, isa?): measured FMA GFLOPS on `threads` threads at isa (default: cpu_level()).
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t threads = 0;
  if (!ArgInt(info, 0, "fmaPeak threads", 1, 1024, &threads)) return env.Undefined();
  lisa::CpuLevel level = lisa::cpu_level();
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    std::string name = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    if (!lisa::parse_cpu_level(name.c_str(), &level) || level > lisa::cpu_max_level()) {
      Napi::TypeError::New(env, "fmaPeak(threads, isa): isa must be 'avx512', 'avx2' or 'portable' and supported "
                                "by this CPU")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  return Napi::Number::New(env, lisa::fma_peak_gflops(level, static_cast<int>(threads)));
}

Napi::Value SetBf16Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (name != "builtin" && name != "panels") {
    Napi::TypeError::New(env, "setBf16Gemm(route): route must be 'builtin' or 'panels'").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  lisa::g_bf16_panels.store(name == "panels");
  return env.Undefined();
}

Napi::Value SetGemmImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  lisa::Impl impl;
  if (name == "auto") {
    impl = lisa::Impl::Auto;
  } else if (name == "openblas") {
    if (!lisa::blas::available()) {
      Napi::Error::New(env, "setGemmImpl('openblas'): OpenBLAS is not available (libopenblas.so.0 not loaded, or "
                            "LISA_NO_OPENBLAS=1)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    impl = lisa::Impl::OpenBlas;
  } else if (name == "builtin") {
    impl = lisa::Impl::Builtin;
  } else if (name == "avx512" || name == "avx2") {
    lisa::CpuLevel need = name == "avx512" ? lisa::CpuLevel::Avx512 : lisa::CpuLevel::Avx2;
    if (lisa::cpu_level() < need) {
      Napi::Error::New(env, "setGemmImpl('" + name + "'): not available (the CPU lacks it, or LISA_CPU / "
                            "setCpuLevel caps the ISA at '" + lisa::cpu_level_name(lisa::cpu_level()) + "')")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    impl = name == "avx512" ? lisa::Impl::Avx512 : lisa::Impl::Avx2;
  } else if (name == "portable") {
    impl = lisa::Impl::Portable;
  } else if (name == "reference") {
    impl = lisa::Impl::Reference;
  } else {
    Napi::TypeError::New(env, "setGemmImpl(name): name must be 'auto', 'openblas', 'builtin', 'avx512', 'avx2', "
                              "'portable' or 'reference'")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  lisa::g_impl.store(impl);
  return env.Undefined();
}
}  // namespace

void RegisterGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  exports.Set("gemmInfo", Napi::Function::New(env, GemmInfo, "gemmInfo"));
  exports.Set("setGemmImpl", Napi::Function::New(env, SetGemmImpl, "setGemmImpl"));
  exports.Set("setBf16Gemm", Napi::Function::New(env, SetBf16Gemm, "setBf16Gemm"));
  exports.Set("setCpuLevel", Napi::Function::New(env, SetCpuLevel, "setCpuLevel"));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak, "fmaPeak"));

}
