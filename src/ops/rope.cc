#include "ops/rope.h"

#include <cmath>

namespace ivl::ops {
namespace {

std::vector<float> inverse_frequencies(double base, int64_t d) {
  std::vector<float> f(static_cast<size_t>(d / 2));
  for (int64_t i = 0; i < d / 2; ++i) {
    // torch: 1.0 / (base ** (arange(0, d, 2).float() / d)), in float32
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(d);
    f[static_cast<size_t>(i)] = 1.0f / std::pow(static_cast<float>(base), exponent);
  }
  return f;
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
  r.inv_freq_ = inverse_frequencies(config.theta, head_dim);
  return r;
}

std::vector<float> Rope::inv_freq_for(int64_t seq_len) const {
  // HF "dynamic" NTK: only beyond max_position_embeddings is the base rescaled (spec §9.1).
  if (config_.kind == io::RopeKind::kDynamic && max_position_ > 0 && seq_len > max_position_) {
    const double d = static_cast<double>(head_dim_);
    const double base = config_.theta * std::pow(config_.factor * static_cast<double>(seq_len) /
                                                         static_cast<double>(max_position_) -
                                                     (config_.factor - 1.0),
                                                 d / (d - 2.0));
    return inverse_frequencies(base, head_dim_);
  }
  return inv_freq_;
}

void Rope::apply(float* x, int64_t n, int64_t stride, int64_t heads, const int64_t* positions,
                 int64_t seq_len) const {
  const std::vector<float> inv = inv_freq_for(seq_len);
  const int64_t half = head_dim_ / 2;
  const float scale =
      config_.kind == io::RopeKind::kLinear ? static_cast<float>(1.0 / config_.factor) : 1.0f;
  std::vector<float> cos_v(static_cast<size_t>(half)), sin_v(static_cast<size_t>(half));
  for (int64_t r = 0; r < n; ++r) {
    const float pos = static_cast<float>(positions[r]) * scale;
    for (int64_t i = 0; i < half; ++i) {
      const float angle = pos * inv[static_cast<size_t>(i)];
      cos_v[static_cast<size_t>(i)] = std::cos(angle);
      sin_v[static_cast<size_t>(i)] = std::sin(angle);
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + r * stride + h * head_dim_;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        const float c = cos_v[static_cast<size_t>(i)], s = sin_v[static_cast<size_t>(i)];
        v[i] = a * c - b * s;
        v[i + half] = b * c + a * s;
      }
    }
  }
}

}  // namespace ivl::ops
