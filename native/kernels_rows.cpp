// Row kernels: softmax, cross-entropy, LayerNorm, RMSNorm (forward and backward), RoPE, embedding and AdamW.
// Rows run in parallel; statistics accumulate in float64 through the kernel table. Parameter gradients (dw,
// db, dweight) are split over columns, so no two threads touch one element and the sum order is fixed.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"
#include "threadpool.h"

namespace lisa {
namespace {
constexpr int64_t kGrain = 1 << 15;  // elements per parallel chunk, at least

int64_t row_grain(int64_t cols) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)); }

// fn(r) for every row, rows in parallel when rows*cols is large.
template <class F>
void each_row(int64_t rows, int64_t cols, F&& fn) {
  parallel_for(rows, row_grain(cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) fn(r);
  });
}

// fn(c0, c1) over column blocks of [0, C) in parallel: each block reads every row, so rows*C should be large.
template <class F>
void each_col_block(int64_t rows, int64_t C, F&& fn) {
  const int64_t grain = rows * C >= 4 * kGrain ? 16 : C;
  parallel_for(C, grain, [&](int64_t b, int64_t e) { fn(b, e); });
}
}  // namespace

void softmax(const float* x, float* out, int64_t rows, int64_t cols, int64_t causalT) {
  const KernelTable& t = kt();
  each_row(rows, cols, [&](int64_t r) {
    const float* xr = x + r * cols;
    float* yr = out + r * cols;
    // Columns [0, valid) are unmasked: the query at r % causalT sees keys up to (r % causalT) + cols - causalT.
    int64_t valid = causalT > 0 ? (r % causalT) + cols - causalT + 1 : cols;
    valid = std::max<int64_t>(0, std::min(valid, cols));
    if (valid > 0) {
      const float m = t.max(xr, valid);
      const double s = t.exp_sum(xr, m, yr, valid);
      const float inv = static_cast<float>(1.0 / s);
      for (int64_t c = 0; c < valid; ++c) yr[c] *= inv;
    }
    std::fill(yr + valid, yr + cols, 0.0f);
  });
}

// d softmax: y * (g - sum(g*y))
void softmax_backward(const float* y, const float* g, float* dx, int64_t rows, int64_t cols) {
  const KernelTable& t = kt();
  each_row(rows, cols, [&](int64_t r) {
    const float* yr = y + r * cols;
    const float* gr = g + r * cols;
    float* dr = dx + r * cols;
    const float dot = static_cast<float>(t.dot(gr, yr, cols));
    for (int64_t c = 0; c < cols; ++c) dr[c] = yr[c] * (gr[c] - dot);
  });
}

void cross_entropy(const float* logits, const int32_t* targets, int64_t rows, int64_t V, int64_t ignore,
                   float* losses, float* lse) {
  const KernelTable& t = kt();
  each_row(rows, V, [&](int64_t r) {
    const float* xr = logits + r * V;
    const float m = t.max(xr, V);
    const double l = static_cast<double>(m) + std::log(t.exp_sum(xr, m, nullptr, V));
    lse[r] = static_cast<float>(l);
    const int64_t tg = targets[r];
    losses[r] = tg == ignore ? 0.0f : static_cast<float>(l - xr[tg]);
  });
}

// d CE: (softmax(logits) - onehot(target)) * scale; softmax = exp(logits - lse).
void cross_entropy_backward(const float* logits, const float* lse, const int32_t* targets, int64_t rows, int64_t V,
                            int64_t ignore, const float* scale, float* dlogits) {
  const KernelTable& t = kt();
  each_row(rows, V, [&](int64_t r) {
    float* dr = dlogits + r * V;
    const int64_t tg = targets[r];
    if (tg == ignore) {
      std::fill(dr, dr + V, 0.0f);
      return;
    }
    const float* xr = logits + r * V;
    t.exp_scale(xr, lse[r], scale[r], dr, V);
    // The target's entry as (p - 1) * scale in double: p - 1 is exact there, p*s - s would not be.
    dr[tg] = static_cast<float>((std::exp(static_cast<double>(xr[tg]) - lse[r]) - 1.0) * scale[r]);
  });
}

void layer_norm(const float* x, const float* w, const float* b, int64_t rows, int64_t C, double eps, float* y,
                float* mean, float* rstd) {
  const KernelTable& t = kt();
  each_row(rows, C, [&](int64_t r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    const double mu = t.sum(xr, C) / C;
    const double rs = 1.0 / std::sqrt(t.sqdev(xr, mu, C) / C + eps);
    mean[r] = static_cast<float>(mu);
    rstd[r] = static_cast<float>(rs);
    const float muf = static_cast<float>(mu), rsf = static_cast<float>(rs);
    if (b) {
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - muf) * rsf * w[c] + b[c];
    } else {
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - muf) * rsf * w[c];
    }
  });
}

// d layerNorm: xhat = (x-mean)*rstd, dxhat = gy*w; dx = rstd*(dxhat - mean(dxhat) - xhat*mean(dxhat*xhat));
// dw += sum_rows gy*xhat; db += sum_rows gy
void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* gy,
                         int64_t rows, int64_t C, float* dx, float* dw, float* db) {
  const KernelTable& t = kt();
  if (dx) {
    each_row(rows, C, [&](int64_t r) {
      const float* xr = x + r * C;
      const float* gr = gy + r * C;
      float* dr = dx + r * C;
      const double mu = mean[r], rs = rstd[r];
      // sum(dxhat) = sum(gy*w); sum(dxhat*xhat) = (sum(gy*w*x) - mu*sum(gy*w)) * rstd
      const double sd = t.dot(gr, w, C);
      const double sdx = (t.dot3(gr, w, xr, C) - mu * sd) * rs;
      const float md = static_cast<float>(sd / C), mdx = static_cast<float>(sdx / C);
      const float muf = static_cast<float>(mu), rsf = static_cast<float>(rs);
      for (int64_t c = 0; c < C; ++c) {
        const float xh = (xr[c] - muf) * rsf;
        dr[c] = rsf * (gr[c] * w[c] - md - xh * mdx);
      }
    });
  }
  if (!dw && !db) return;
  each_col_block(rows, C, [&](int64_t c0, int64_t c1) {
    const int64_t n = c1 - c0;
    std::vector<double> aw(n, 0.0), ab(n, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * C + c0;
      const float* gr = gy + r * C + c0;
      const double mu = mean[r], rs = rstd[r];
      if (dw) for (int64_t j = 0; j < n; ++j) aw[j] += gr[j] * ((xr[j] - mu) * rs);
      if (db) t.acc_f64(ab.data(), gr, n);
    }
    if (dw) for (int64_t j = 0; j < n; ++j) dw[c0 + j] = static_cast<float>(dw[c0 + j] + aw[j]);
    if (db) for (int64_t j = 0; j < n; ++j) db[c0 + j] = static_cast<float>(db[c0 + j] + ab[j]);
  });
}

void rms_norm(const float* x, const float* w, int64_t rows, int64_t C, double eps, float* y, float* rstd) {
  const KernelTable& t = kt();
  each_row(rows, C, [&](int64_t r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    const double rs = 1.0 / std::sqrt(t.sumsq(xr, C) / C + eps);
    rstd[r] = static_cast<float>(rs);
    const float rsf = static_cast<float>(rs);
    for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * rsf * w[c];
  });
}

// d rmsNorm: xhat = x*rstd, dxhat = gy*w; dx = rstd*(dxhat - xhat*mean(dxhat*xhat)); dw += sum_rows gy*xhat
void rms_norm_backward(const float* x, const float* w, const float* rstd, const float* gy, int64_t rows, int64_t C,
                       float* dx, float* dw) {
  const KernelTable& t = kt();
  if (dx) {
    each_row(rows, C, [&](int64_t r) {
      const float* xr = x + r * C;
      const float* gr = gy + r * C;
      float* dr = dx + r * C;
      const double rs = rstd[r];
      const double mdx = t.dot3(gr, w, xr, C) * rs / C;  // mean(dxhat * xhat)
      const float rsf = static_cast<float>(rs), k = static_cast<float>(rs * mdx);
      for (int64_t c = 0; c < C; ++c) dr[c] = rsf * (gr[c] * w[c] - xr[c] * k);
    });
  }
  if (!dw) return;
  each_col_block(rows, C, [&](int64_t c0, int64_t c1) {
    const int64_t n = c1 - c0;
    std::vector<double> aw(n, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * C + c0;
      const float* gr = gy + r * C + c0;
      const double rs = rstd[r];
      for (int64_t j = 0; j < n; ++j) aw[j] += gr[j] * (xr[j] * rs);
    }
    for (int64_t j = 0; j < n; ++j) dw[c0 + j] = static_cast<float>(dw[c0 + j] + aw[j]);
  });
}

// Each pair (x1, x2) at position t, frequency i: (x1*cos - x2*sin, x2*cos + x1*sin); inverse negates sin.
// Both values of a pair are read before either is written, so out may equal x.
void rope(const float* x, const float* cos, const float* sin, int64_t outer, int64_t T, int64_t hs, bool halfSplit,
          bool inverse, float* out) {
  const int64_t half = hs / 2;
  const float sign = inverse ? -1.0f : 1.0f;
  each_row(outer * T, hs, [&](int64_t row) {
    const float* xr = x + row * hs;
    float* yr = out + row * hs;
    const float* cr = cos + (row % T) * half;
    const float* sr = sin + (row % T) * half;
    if (halfSplit) {
#pragma GCC ivdep
      for (int64_t i = 0; i < half; ++i) {
        const float c = cr[i], s = sign * sr[i], x1 = xr[i], x2 = xr[i + half];
        yr[i] = x1 * c - x2 * s;
        yr[i + half] = x2 * c + x1 * s;
      }
    } else {
      for (int64_t i = 0; i < half; ++i) {
        const float c = cr[i], s = sign * sr[i], x1 = xr[2 * i], x2 = xr[2 * i + 1];
        yr[2 * i] = x1 * c - x2 * s;
        yr[2 * i + 1] = x2 * c + x1 * s;
      }
    }
  });
}

void embedding(const float* weight, const int32_t* ids, int64_t n, int64_t C, float* out) {
  each_row(n, C, [&](int64_t i) { std::memcpy(out + i * C, weight + static_cast<int64_t>(ids[i]) * C, C * 4); });
}

void embedding_bf16(const uint16_t* weight, const int32_t* ids, int64_t n, int64_t C, float* out) {
  each_row(n, C, [&](int64_t i) {
    const uint16_t* src = weight + static_cast<int64_t>(ids[i]) * C;
    float* dst = out + i * C;
    for (int64_t c = 0; c < C; ++c) {
      const uint32_t u = static_cast<uint32_t>(src[c]) << 16;
      std::memcpy(dst + c, &u, 4);
    }
  });
}

// d embedding: dweight[ids[i], :] += g[i, :], i ascending (like the reference); split over columns, so rows with
// repeated ids never race.
void embedding_backward(const int32_t* ids, const float* g, int64_t n, int64_t C, float* dweight) {
  each_col_block(n, C, [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < n; ++i) {
      float* dst = dweight + static_cast<int64_t>(ids[i]) * C;
      const float* src = g + i * C;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  });
}

static AdamCoef adam_coef(double lr, double beta1, double beta2, double eps, double wd, double step, double gscale) {
  AdamCoef c;
  c.lrwd = static_cast<float>(lr * wd);
  c.b1 = static_cast<float>(beta1);
  c.omb1 = static_cast<float>(1.0 - beta1);
  c.b2 = static_cast<float>(beta2);
  c.omb2 = static_cast<float>(1.0 - beta2);
  c.inv_bc2 = static_cast<float>(1.0 / (1.0 - std::pow(beta2, step)));
  c.step_size = static_cast<float>(lr / (1.0 - std::pow(beta1, step)));
  c.eps = static_cast<float>(eps);
  c.gscale = gscale;
  return c;
}

void adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr, double beta1, double beta2,
           double eps, double wd, double step) {
  const AdamCoef c = adam_coef(lr, beta1, beta2, eps, wd, step, 1.0);
  const KernelTable& t = kt();
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { t.adamw(p + b, g + b, m + b, v + b, e - b, c); });
}

void adamw_many(const AdamwTensor* ts, int64_t k, double lr, double beta1, double beta2, double eps, double gscale) {
  // Spans of at most kGrain elements over every tensor, split evenly between the threads in one pass (no
  // per-tensor dispatch: the small tensors, biases and norms, share a chunk with the large ones).
  struct Span { int64_t t, b, e; };
  std::vector<AdamCoef> coef(static_cast<size_t>(k));
  std::vector<Span> spans;
  for (int64_t i = 0; i < k; ++i) {
    coef[static_cast<size_t>(i)] = adam_coef(lr, beta1, beta2, eps, ts[i].wd, ts[i].step, gscale);
    for (int64_t b = 0; b < ts[i].n; b += kGrain) spans.push_back({i, b, std::min(ts[i].n, b + kGrain)});
  }
  const KernelTable& t = kt();
  parallel_for(static_cast<int64_t>(spans.size()), 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const Span& sp = spans[static_cast<size_t>(s)];
      const AdamwTensor& x = ts[sp.t];
      t.adamw(x.p + sp.b, x.g + sp.b, x.m + sp.b, x.v + sp.b, sp.e - sp.b, coef[static_cast<size_t>(sp.t)]);
    }
  });
}

}  // namespace lisa
