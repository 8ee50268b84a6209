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

  // Rotates `heads` heads of `head_dim` in each of n rows of x (row stride `stride`); row r has
  // position positions[r]. `seq_len` (max position + 1 of the whole sequence) drives dynamic NTK.
  void apply(float* x, int64_t n, int64_t stride, int64_t heads, const int64_t* positions,
             int64_t seq_len) const;

 private:
  std::vector<float> inv_freq_for(int64_t seq_len) const;

  io::RopeConfig config_;
  int64_t head_dim_ = 0;
  int64_t max_position_ = 0;
  std::vector<float> inv_freq_;  // for sequences within max_position
};

}  // namespace ivl::ops
