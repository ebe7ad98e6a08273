// Whole-tensor kernels over shapes: strided copy, fill, unary, broadcasting binary, sumReduce, sumSquares; plus
// the choice of kernel table (AVX2 when the CPU has it). Dims are coalesced first, so contiguous and
// row-broadcast cases become a few long inner loops handed to the table.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu_features.h"
#include "kernels.h"
#include "threadpool.h"

namespace lisa {

const char* const kUnaryNames[U_COUNT] = {"neg",  "exp",    "log",  "sqrt", "rsqrt",  "tanh",   "sigmoid",
                                          "relu", "abs",    "square", "gelu", "silu", "affine", "pow"};
const char* const kBinaryNames[B_COUNT] = {"add",     "sub",      "mul",      "div",     "maximum",
                                           "minimum", "geluGrad", "siluGrad", "reluGrad"};

bool cpu_has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

static const KernelTable* g_table = nullptr;

const KernelTable& kt() {
  if (!g_table) {
    const CpuLevel level = cpu_level();
    g_table = level == CpuLevel::Avx512                          ? avx512_table()
              : level == CpuLevel::Avx2 && cpu_has_avx2()        ? avx2_table()
                                                                 : &kPortableTable;
  }
  return *g_table;
}

void reset_kernel_table() { g_table = nullptr; }

bool set_kernel_impl(const char* name) {
  if (std::strcmp(name, "portable") == 0) {
    g_table = &kPortableTable;
    return true;
  }
  if (std::strcmp(name, "avx2") == 0 && cpu_has_avx2()) {
    g_table = avx2_table();
    return true;
  }
  if (std::strcmp(name, "avx512") == 0 && cpu_level() == CpuLevel::Avx512) {
    g_table = avx512_table();
    return true;
  }
  return false;
}

namespace {
constexpr int kMaxOps = 3;
constexpr int kMaxRank = 64;  // the bindings reject more
constexpr int64_t kGrain = 1 << 15;  // elements per parallel chunk, at least

// A shape with up to 3 operands' strides, after dropping size-1 dims and merging dims that are contiguous
// in every operand. rank >= 1 unless empty (some dim is 0).
struct Layout {
  int rank = 0;
  bool empty = false;
  int64_t shape[kMaxRank];
  int64_t str[kMaxOps][kMaxRank];
};

Layout coalesce(const int64_t* shape, int rank, int nops, const int64_t* const* strides) {
  Layout L;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 0) L.empty = true;
    if (shape[d] == 1) continue;
    const int last = L.rank - 1;
    bool merge = L.rank > 0;
    for (int k = 0; k < nops && merge; ++k) merge = L.str[k][last] == strides[k][d] * shape[d];
    if (merge) {
      L.shape[last] *= shape[d];
      for (int k = 0; k < nops; ++k) L.str[k][last] = strides[k][d];
    } else {
      L.shape[L.rank] = shape[d];
      for (int k = 0; k < nops; ++k) L.str[k][L.rank] = strides[k][d];
      ++L.rank;
    }
  }
  if (L.rank == 0) {  // a single element
    L.rank = 1;
    L.shape[0] = 1;
    for (int k = 0; k < nops; ++k) L.str[k][0] = 0;
  }
  return L;
}

// Calls f(off[0..nops), inner) for the outer (all but last dim) indices [begin, end) of L in row-major order.
template <class F>
void for_rows(const Layout& L, int nops, int64_t begin, int64_t end, F&& f) {
  const int outer_rank = L.rank - 1;
  const int64_t inner = L.shape[L.rank - 1];
  int64_t cnt[kMaxRank] = {};
  int64_t off[kMaxOps] = {0, 0, 0};
  int64_t rest = begin;
  for (int d = outer_rank - 1; d >= 0; --d) {
    cnt[d] = rest % L.shape[d];
    rest /= L.shape[d];
    for (int k = 0; k < nops; ++k) off[k] += cnt[d] * L.str[k][d];
  }
  for (int64_t o = begin; o < end; ++o) {
    f(off, inner);
    for (int d = outer_rank - 1; d >= 0; --d) {  // odometer step, offsets updated incrementally
      if (++cnt[d] < L.shape[d]) {
        for (int k = 0; k < nops; ++k) off[k] += L.str[k][d];
        break;
      }
      cnt[d] = 0;
      for (int k = 0; k < nops; ++k) off[k] -= (L.shape[d] - 1) * L.str[k][d];
    }
  }
}

// Runs rows [0, outer) of L in parallel when the total work is large.
template <class F>
void parallel_rows(const Layout& L, int nops, F&& f) {
  int64_t outer = 1;
  for (int d = 0; d < L.rank - 1; ++d) outer *= L.shape[d];
  const int64_t inner = L.shape[L.rank - 1];
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1));
  parallel_for(outer, grain, [&](int64_t b, int64_t e) { for_rows(L, nops, b, e, f); });
}

// Splits one contiguous range [0, n) into parallel chunks of at least kGrain.
template <class F>
void parallel_flat(int64_t n, F&& f) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { f(b, e); });
}
}  // namespace

void copy_strided(const float* src, const int64_t* sstr, float* dst, const int64_t* dstr, const int64_t* shape,
                  int rank) {
  const int64_t* strides[2] = {sstr, dstr};
  const Layout L = coalesce(shape, rank, 2, strides);
  if (L.empty) return;
  const int64_t ss = L.str[0][L.rank - 1], ds = L.str[1][L.rank - 1];
  if (L.rank == 1 && ss == 1 && ds == 1) {
    parallel_flat(L.shape[0], [&](int64_t b, int64_t e) { std::memcpy(dst + b, src + b, (e - b) * sizeof(float)); });
    return;
  }
  parallel_rows(L, 2, [&](const int64_t* off, int64_t n) {
    const float* s = src + off[0];
    float* d = dst + off[1];
    if (ss == 1 && ds == 1) {
      std::memcpy(d, s, n * sizeof(float));
    } else {
      for (int64_t i = 0; i < n; ++i) d[i * ds] = s[i * ss];
    }
  });
}

void fill(float* out, int64_t n, float value) {
  parallel_flat(n, [&](int64_t b, int64_t e) { std::fill(out + b, out + e, value); });
}

void unary(int op, const float* x, float* out, int64_t n, double alpha, double beta) {
  const KernelTable& t = kt();
  parallel_flat(n, [&](int64_t b, int64_t e) { t.unary(op, x + b, out + b, e - b, alpha, beta); });
}

void binary(int op, const float* a, const int64_t* astr, const float* b, const int64_t* bstr, float* out,
            const int64_t* shape, int rank) {
  int64_t ostr[kMaxRank];
  int64_t n = 1;
  for (int d = rank - 1; d >= 0; --d) {
    ostr[d] = n;
    n *= shape[d];
  }
  const int64_t* strides[3] = {ostr, astr, bstr};
  const Layout L = coalesce(shape, rank, 3, strides);
  if (L.empty) return;
  const KernelTable& t = kt();
  const int64_t sa = L.str[1][L.rank - 1], sb = L.str[2][L.rank - 1];
  if (L.rank == 1) {  // one long run (same-shape contiguous, or a scalar operand): split it
    parallel_flat(L.shape[0], [&](int64_t lo, int64_t hi) {
      t.binary(op, a + lo * sa, sa, b + lo * sb, sb, out + lo, hi - lo);
    });
    return;
  }
  parallel_rows(L, 3, [&](const int64_t* off, int64_t len) {
    t.binary(op, a + off[1], sa, b + off[2], sb, out + off[0], len);
  });
}

void sum_reduce(const float* x, const int64_t* shape, const bool* keep, int rank, float* out) {
  // Groups of adjacent dims with the same keep flag (x is contiguous, so they merge); size-1 dims dropped.
  std::vector<int64_t> gsize;
  std::vector<bool> gkeep;
  int64_t total = 1, out_size = 1;
  for (int d = 0; d < rank; ++d) {
    total *= shape[d];
    if (keep[d]) out_size *= shape[d];
    if (shape[d] == 1) continue;
    if (!gsize.empty() && gkeep.back() == keep[d]) {
      gsize.back() *= shape[d];
    } else {
      gsize.push_back(shape[d]);
      gkeep.push_back(keep[d]);
    }
  }
  if (total == 0) {
    std::fill(out, out + out_size, 0.0f);
    return;
  }
  const int ng = static_cast<int>(gsize.size());
  const KernelTable& t = kt();
  if (std::find(gkeep.begin(), gkeep.end(), false) == gkeep.end()) {  // nothing reduced
    std::memcpy(out, x, total * sizeof(float));
  } else if (ng == 1) {  // everything reduced: fixed blocks, so the result does not depend on thread count
    const int64_t blocks = (total + kGrain - 1) / kGrain;
    std::vector<double> part(blocks);
    parallel_for(blocks, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) part[i] = t.sum(x + i * kGrain, std::min(kGrain, total - i * kGrain));
    });
    double s = 0;
    for (double p : part) s += p;
    out[0] = static_cast<float>(s);
  } else if (ng == 2 && gkeep[0]) {  // (R kept, K reduced): row sums
    const int64_t R = gsize[0], K = gsize[1];
    parallel_for(R, std::max<int64_t>(1, kGrain / K), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) out[r] = static_cast<float>(t.sum(x + r * K, K));
    });
  } else if (ng == 2) {  // (K reduced, N kept): column sums, split over columns, k ascending like the reference
    const int64_t K = gsize[0], N = gsize[1];
    const int64_t grain = total >= 4 * kGrain ? 64 : N;
    parallel_for(N, grain, [&](int64_t b, int64_t e) {
      std::vector<double> acc(e - b, 0.0);
      double* ap = acc.data();
      for (int64_t k = 0; k < K; ++k) t.acc_f64(ap, x + k * N + b, e - b);
      for (int64_t j = 0; j < e - b; ++j) out[b + j] = static_cast<float>(ap[j]);
    });
  } else {  // general alternating groups: accumulate in x order into a float64 copy of out
    std::vector<int64_t> ostr(ng, 0);
    int64_t os = 1;
    for (int g = ng - 1; g >= 0; --g) {
      if (gkeep[g]) {
        ostr[g] = os;
        os *= gsize[g];
      }
    }
    std::vector<double> acc(out_size, 0.0);
    std::vector<int64_t> cnt(ng, 0);
    const int64_t inner = gsize[ng - 1];
    const bool inner_kept = gkeep[ng - 1];
    for (int64_t xi = 0; xi < total; xi += inner) {
      int64_t o = 0;
      for (int g = 0; g < ng - 1; ++g) o += cnt[g] * ostr[g];
      if (inner_kept) {
        for (int64_t j = 0; j < inner; ++j) acc[o + j] += x[xi + j];
      } else {
        acc[o] += t.sum(x + xi, inner);
      }
      for (int g = ng - 2; g >= 0; --g) {
        if (++cnt[g] < gsize[g]) break;
        cnt[g] = 0;
      }
    }
    for (int64_t i = 0; i < out_size; ++i) out[i] = static_cast<float>(acc[i]);
  }
}

double sum_squares(const float* x, int64_t n) {
  if (n <= 0) return 0.0;
  const KernelTable& t = kt();
  const int64_t blocks = (n + kGrain - 1) / kGrain;
  std::vector<double> part(blocks);
  parallel_for(blocks, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) part[i] = t.sumsq(x + i * kGrain, std::min(kGrain, n - i * kGrain));
  });
  double s = 0;
  for (double p : part) s += p;
  return s;
}

}  // namespace lisa
