#include "ops/elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "core/simd_dispatch.h"

namespace ivl::ops {

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
  // 2^k through the exponent bits, without converting k to an integer: k + 127 + 1.5·2^23 is
  // exact for k in [−126, 0] and holds k + 127 in its low mantissa bits. (A conversion would be
  // undefined for a NaN argument, which must instead come out as NaN, through p.)
  const float biased = k + (0x1.8p23f + 127.f);
  uint32_t bits;
  std::memcpy(&bits, &biased, 4);
  bits = (bits - 0x4b400000u) << 23;
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

// Max of x[0, n) in 16 lanes, so the loop vectorises inside its callers' clones (a single
// running max is a serial chain).
inline float row_max(const float* x, int64_t n) {
  float lanes[16];
  std::fill(lanes, lanes + 16, -INFINITY);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int l = 0; l < 16; ++l) lanes[l] = lanes[l] > x[i + l] ? lanes[l] : x[i + l];
  }
  float m = -INFINITY;
  for (; i < n; ++i) m = std::max(m, x[i]);
  for (float v : lanes) m = std::max(m, v);
  return m;
}

// erf(x) for GELU, vectorisable (Abramowitz & Stegun 7.1.26): 1 − poly(t)·e^(−x²) with
// t = 1 / (1 + p|x|); absolute error < 1.5e-7 (libm's erff is a scalar call and took ~5 % of a
// vision tile). In GELU the error is scaled by x/2, so it stays far below float32 rounding of
// the surrounding sums.
inline float erf_fast(float x) {
  const float a = std::fabs(x);
  const float t = 1.f / (1.f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float y = 1.f - p * t * exp_nonpositive(-a * a);
  return x < 0.f ? -y : y;
}

}  // namespace

// Sum of x[0, n) in 16 float lanes (each lane an independent sum, so the compiler vectorises
// without reassociating), plus f(x) per element when given.
template <class F>
inline float lane_sum(const float* x, int64_t n, F f) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int l = 0; l < 16; ++l) acc[l] += f(x[i + l]);
  }
  float s = 0.f;
  for (; i < n; ++i) s += f(x[i]);
  for (float a : acc) s += a;
  return s;
}

// Statistics in float lanes of at most d/16 terms each (relative error ~1e-7·√(d/16), far
// below the 1e-4 the engine is held to); the earlier double-precision scalar loops cost more than
// the matrix products for the LLM's decode step.
IVL_SIMD_CLONES
void layer_norm(const float* x, int64_t n, int64_t d, const float* weight, const float* bias,
                float eps, float* y) {
  for (int64_t r = 0; r < n; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    const float m = lane_sum(xr, d, [](float v) { return v; }) / static_cast<float>(d);
    const float var =
        lane_sum(xr, d, [m](float v) { return (v - m) * (v - m); }) / static_cast<float>(d);
    const float inv = 1.f / std::sqrt(var + eps);
    if (bias != nullptr) {
      for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - m) * inv * weight[i] + bias[i];
    } else {
      for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - m) * inv * weight[i];
    }
  }
}

IVL_SIMD_CLONES
void rms_norm(const float* x, int64_t n, int64_t d, const float* weight, float eps, float* y) {
  for (int64_t r = 0; r < n; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    const float ss = lane_sum(xr, d, [](float v) { return v * v; });
    const float inv = 1.f / std::sqrt(ss / static_cast<float>(d) + eps);
    for (int64_t i = 0; i < d; ++i) yr[i] = weight[i] * (xr[i] * inv);
  }
}

IVL_SIMD_CLONES
void gelu_erf(float* x, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    x[i] = 0.5f * x[i] * (1.f + erf_fast(x[i] * 0.70710678118654752f));
}

// silu(g) = g · σ(g), with σ from e^(−|g|) so the exponential's argument is never positive.
IVL_SIMD_CLONES
void silu_mul(float* gate, const float* up, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    const float g = gate[i];
    const float e = exp_nonpositive(-std::fabs(g));
    const float sigmoid = g >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
    gate[i] = g * sigmoid * up[i];
  }
}

IVL_SIMD_CLONES
void add_inplace(float* y, const float* x, int64_t count) {
  for (int64_t i = 0; i < count; ++i) y[i] += x[i];
}

IVL_SIMD_CLONES
void add_scaled_rows(float* y, const float* x, const float* scale, int64_t n, int64_t d) {
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = 0; i < d; ++i) y[r * d + i] += scale[i] * x[r * d + i];
  }
}

void round_bf16_inplace(float* x, int64_t count) {
  for (int64_t i = 0; i < count; ++i) x[i] = round_to_bf16(x[i]);
}

IVL_SIMD_CLONES
void softmax_row(float* x, int64_t n) {
  const float m = row_max(x, n);
  const float inv = 1.0f / exp_shifted_sum(x, n, m);
  for (int64_t j = 0; j < n; ++j) x[j] *= inv;
}

IVL_SIMD_CLONES
float log_sum_exp(const float* x, int64_t n) {
  const float m = row_max(x, n);
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int l = 0; l < 16; ++l) acc[l] += exp_nonpositive(x[i + l] - m);
  }
  float s = 0.f;
  for (; i < n; ++i) s += exp_nonpositive(x[i] - m);
  for (float a : acc) s += a;
  return m + std::log(s);
}

// e^(scale·(x − max)) rounded to bf16 straight into `out` (round to nearest even on the bits; the
// values are in (0, 1], so no NaN or overflow case), summing the float32 values as the official
// float32 softmax does.
IVL_SIMD_CLONES
float softmax_numerators_bf16(const float* x, int64_t n, float scale, uint16_t* out) {
  const float m = row_max(x, n);
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int l = 0; l < 16; ++l) {
      const float e = exp_nonpositive((x[i + l] - m) * scale);
      acc[l] += e;
      uint32_t bits;
      std::memcpy(&bits, &e, 4);
      out[i + l] = static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
    }
  }
  float sum = 0.f;
  for (; i < n; ++i) {
    const float e = exp_nonpositive((x[i] - m) * scale);
    sum += e;
    out[i] = f32_to_bf16(e);
  }
  for (float a : acc) sum += a;
  return sum;
}

}  // namespace ivl::ops
