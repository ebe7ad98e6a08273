// Argument reading for the kernel bindings: typed arrays checked for type and length (memory safety only;
// callers validate semantics), numbers and flags. The first failure throws into JS and later reads are no-ops.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace lisa {
namespace bind {

// Reads the arguments of one call. The first failure throws a TypeError/RangeError into JS and sets ok = false;
// later getters then return harmless values, and the binding returns without running the kernel.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, size_t count) : info_(info), fn_(fn) {
    if (info.Length() < count) fail("expected " + std::to_string(count) + " arguments");
  }
  bool ok() const { return ok_; }

  double num(size_t i) {
    double v = 0;
    if (ok_ && napi_get_value_double(info_.Env(), info_[i], &v) != napi_ok) fail(arg(i) + " must be a number");
    return v;
  }
  int64_t i64(size_t i) { return static_cast<int64_t>(num(i)); }
  // A size or count: an integer >= 0.
  int64_t size(size_t i) {
    const double v = num(i);
    if (ok_ && !(v >= 0 && v <= 9007199254740992.0)) fail(arg(i) + " must be a size >= 0", true);
    return ok_ ? static_cast<int64_t>(v) : 0;
  }
  bool flag(size_t i) {
    bool v = false;
    if (ok_ && napi_get_value_bool(info_.Env(), info_[i], &v) != napi_ok) v = num(i) != 0;
    return v;
  }
  // Element `need` - 1 must exist; a nullable argument may be null/undefined (returns nullptr).
  float* f32(size_t i, int64_t need, bool nullable = false) {
    return static_cast<float*>(typed(i, napi_float32_array, "Float32Array", need, nullable));
  }
  int32_t* i32(size_t i, int64_t need) {
    return static_cast<int32_t*>(typed(i, napi_int32_array, "Int32Array", need, false));
  }
  uint16_t* u16(size_t i, int64_t need) {
    return static_cast<uint16_t*>(typed(i, napi_uint16_array, "Uint16Array", need, false));
  }
  // True when argument i is a Uint16Array (bfloat16 bits of a stored weight).
  bool is_u16(size_t i) const {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_value ab;
    size_t off = 0;
    return napi_get_typedarray_info(info_.Env(), info_[i], &type, &length, &data, &ab, &off) == napi_ok &&
           type == napi_uint16_array;
  }
  double* f64(size_t i, int64_t need) {
    return static_cast<double*>(typed(i, napi_float64_array, "Float64Array", need, false));
  }
  // The length of a typed array argument that was already read (0 when unread or failed).
  int64_t len(size_t i) const { return i < kMaxArgs ? lens_[i] : 0; }

  void fail(const std::string& msg, bool range = false) {
    if (!ok_) return;
    ok_ = false;
    const std::string full = std::string(fn_) + ": " + msg;
    if (range) Napi::RangeError::New(info_.Env(), full).ThrowAsJavaScriptException();
    else Napi::TypeError::New(info_.Env(), full).ThrowAsJavaScriptException();
  }
  std::string arg(size_t i) const { return "argument " + std::to_string(i); }

 private:
  void* typed(size_t i, napi_typedarray_type want, const char* wname, int64_t need, bool nullable) {
    if (!ok_) return nullptr;
    napi_env env = info_.Env();
    napi_valuetype vt;
    if (nullable && napi_typeof(env, info_[i], &vt) == napi_ok && (vt == napi_null || vt == napi_undefined)) {
      return nullptr;
    }
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_value ab;
    size_t off = 0;
    if (napi_get_typedarray_info(env, info_[i], &type, &length, &data, &ab, &off) != napi_ok || type != want) {
      fail(arg(i) + " must be a " + wname);
      return nullptr;
    }
    if (i < kMaxArgs) lens_[i] = static_cast<int64_t>(length);
    if (need < 0 || static_cast<int64_t>(length) < need) {
      fail(arg(i) + " has " + std::to_string(length) + " elements, needs " + std::to_string(need), true);
      return nullptr;
    }
    return data;
  }

  const Napi::CallbackInfo& info_;
  const char* fn_;
  bool ok_ = true;
  static constexpr size_t kMaxArgs = 16;
  int64_t lens_[kMaxArgs] = {};
};

}  // namespace bind
}  // namespace lisa
