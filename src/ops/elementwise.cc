#include "ops/elementwise.h"

#include <algorithm>
#include <cmath>

#include "core/half.h"

namespace ivl::ops {

void layer_norm(const float* x, int64_t n, int64_t d, const float* weight, const float* bias,
                float eps, float* y) {
  for (int64_t r = 0; r < n; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    double mean = 0.0;  // double accumulators: keep the statistics exact-ish for large d
    for (int64_t i = 0; i < d; ++i) mean += xr[i];
    mean /= static_cast<double>(d);
    double var = 0.0;
    for (int64_t i = 0; i < d; ++i) {
      const double c = xr[i] - mean;
      var += c * c;
    }
    var /= static_cast<double>(d);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float m = static_cast<float>(mean);
    for (int64_t i = 0; i < d; ++i) {
      float v = (xr[i] - m) * inv;
      yr[i] = v * weight[i] + (bias != nullptr ? bias[i] : 0.f);
    }
  }
}

void rms_norm(const float* x, int64_t n, int64_t d, const float* weight, float eps, float* y) {
  for (int64_t r = 0; r < n; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    double ss = 0.0;
    for (int64_t i = 0; i < d; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
    for (int64_t i = 0; i < d; ++i) yr[i] = weight[i] * (xr[i] * inv);
  }
}

void gelu_erf(float* x, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    x[i] = 0.5f * x[i] * (1.f + std::erf(x[i] * 0.70710678118654752f));
}

void silu_mul(float* gate, const float* up, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.f + std::exp(-g)) * up[i];
  }
}

void add_inplace(float* y, const float* x, int64_t count) {
  for (int64_t i = 0; i < count; ++i) y[i] += x[i];
}

void add_scaled_rows(float* y, const float* x, const float* scale, int64_t n, int64_t d) {
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = 0; i < d; ++i) y[r * d + i] += scale[i] * x[r * d + i];
  }
}

void round_bf16_inplace(float* x, int64_t count) {
  for (int64_t i = 0; i < count; ++i) x[i] = round_to_bf16(x[i]);
}

void softmax_row(float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace ivl::ops
