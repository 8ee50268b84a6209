#include "ops/rope.h"

#include <cmath>

namespace ivl::ops {
namespace {

// torch: 1.0 / (base ** (arange(0, d, 2).float() / d)), in float32; entry i.
float inverse_frequency(double base, int64_t i, int64_t d) {
  const float exponent = static_cast<float>(2 * i) / static_cast<float>(d);
  return 1.0f / std::pow(static_cast<float>(base), exponent);
}

}  // namespace

Result<Rope> Rope::create(const io::RopeConfig& config, int64_t head_dim, int64_t max_position) {
  using io::RopeKind;
  if (config.kind != RopeKind::kDefault && config.kind != RopeKind::kLinear &&
      config.kind != RopeKind::kDynamic) {
    return Status::unsupported("RoPE type \"" + std::string(io::rope_kind_name(config.kind)) +
                               "\" is not implemented yet (supported: default, linear, dynamic)");
  }
  if (config.partial_rotary_factor != 1.0) {
    return Status::unsupported("partial_rotary_factor != 1 is not implemented");
  }
  Rope r;
  r.config_ = config;
  r.head_dim_ = head_dim;
  r.max_position_ = max_position;
  r.inv_freq_.resize(static_cast<size_t>(head_dim / 2));
  for (int64_t i = 0; i < head_dim / 2; ++i)
    r.inv_freq_[static_cast<size_t>(i)] = inverse_frequency(config.theta, i, head_dim);
  return r;
}

float Rope::inv_freq(int64_t i, int64_t seq_len) const {
  // HF "dynamic" NTK: only beyond max_position_embeddings is the base rescaled (spec §9.1).
  if (config_.kind == io::RopeKind::kDynamic && max_position_ > 0 && seq_len > max_position_) {
    const double d = static_cast<double>(head_dim_);
    const double base = config_.theta * std::pow(config_.factor * static_cast<double>(seq_len) /
                                                         static_cast<double>(max_position_) -
                                                     (config_.factor - 1.0),
                                                 d / (d - 2.0));
    return inverse_frequency(base, i, head_dim_);
  }
  return inv_freq_[static_cast<size_t>(i)];
}

void Rope::angles(int64_t n, const int64_t* positions, int64_t seq_len, float* cos_out,
                  float* sin_out) const {
  const int64_t half = head_dim_ / 2;
  const float scale =
      config_.kind == io::RopeKind::kLinear ? static_cast<float>(1.0 / config_.factor) : 1.0f;
  for (int64_t i = 0; i < half; ++i) {
    const float inv = inv_freq(i, seq_len);
    for (int64_t r = 0; r < n; ++r) {
      const float angle = static_cast<float>(positions[r]) * scale * inv;
      cos_out[r * half + i] = std::cos(angle);
      sin_out[r * half + i] = std::sin(angle);
    }
  }
}

void Rope::rotate(float* x, int64_t n, int64_t stride, int64_t heads, const float* cos,
                  const float* sin) const {
  const int64_t half = head_dim_ / 2;
  for (int64_t r = 0; r < n; ++r) {
    const float* c = cos + r * half;
    const float* s = sin + r * half;
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + r * stride + h * head_dim_;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * s[i];
        v[i + half] = b * c[i] + a * s[i];
      }
    }
  }
}

}  // namespace ivl::ops
