#include "ops/elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "core/simd_dispatch.h"

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

namespace {

// exp(x) for x <= 0 (softmax arguments), vectorisable: x = k·ln2 + r with |r| <= ln2/2, then a
// degree-6 polynomial for e^r and 2^k through the exponent bits. Relative error < 2e-7 (about
// one float ulp), far inside the engine's 1e-4 tolerance; std::exp is 10x slower here and
// dominated the attention time.
inline float exp_nonpositive(float x) {
  x = std::max(x, -87.0f);  // below this e^x underflows float anyway
  const float k = std::nearbyint(x * 1.44269504088896341f);
  const float r = x - k * 0.693145751953125f - k * 1.428606765330187e-06f;  // Cody-Waite ln2
  float p = 1.f / 720;
  p = p * r + 1.f / 120;
  p = p * r + 1.f / 24;
  p = p * r + 1.f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

// x[i] = exp(x[i] - m); returns the sum (lane-wise partial sums, then combined).
IVL_SIMD_CLONES
float exp_shifted_sum(float* x, int64_t n, float m) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int l = 0; l < 16; ++l) {
      x[i + l] = exp_nonpositive(x[i + l] - m);
      acc[l] += x[i + l];
    }
  }
  float s = 0.f;
  for (; i < n; ++i) {
    x[i] = exp_nonpositive(x[i] - m);
    s += x[i];
  }
  for (float a : acc) s += a;
  return s;
}

}  // namespace

void softmax_row(float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  const float inv = 1.0f / exp_shifted_sum(x, n, m);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace ivl::ops
