// Rotary position embeddings, "rotate_half" convention (HF Llama family, spec §9):
//   x' = x·cos + rotate_half(x)·sin,  rotate_half(x) = cat(-x[D/2:], x[:D/2]),
//   inv_freq_i = θ^(-2i/D), angle = position · inv_freq_i (float32, as HF computes it).
#pragma once

#include <cstdint>
#include <vector>

#include "io/model_config.h"
#include "ivl/status.h"

namespace ivl::ops {

class Rope {
 public:
  // kUnsupported for RoPE kinds other than default, linear and dynamic (NTK).
  static Result<Rope> create(const io::RopeConfig& config, int64_t head_dim, int64_t max_position);

  // The rotation of n rows: cos_out / sin_out[r · head_dim/2 + i] = cos / sin of row r's angle
  // for frequency i, row r at position positions[r]. `seq_len` (max position + 1 of the whole
  // sequence) drives dynamic NTK. A forward pass computes this once and rotates every layer's
  // queries and keys with it. Allocates nothing.
  void angles(int64_t n, const int64_t* positions, int64_t seq_len, float* cos_out,
              float* sin_out) const;

  // Rotates `heads` heads of `head_dim` in each of n rows of x (row stride `stride`) by the
  // rows' angles from angles(). Allocates nothing.
  void rotate(float* x, int64_t n, int64_t stride, int64_t heads, const float* cos,
              const float* sin) const;

 private:
  // Frequency i for a sequence of seq_len positions: inv_freq_[i] within max_position, the
  // dynamic-NTK rescaled one beyond it.
  float inv_freq(int64_t i, int64_t seq_len) const;

  io::RopeConfig config_;
  int64_t head_dim_ = 0;
  int64_t max_position_ = 0;
  std::vector<float> inv_freq_;  // for sequences within max_position
};

}  // namespace ivl::ops
