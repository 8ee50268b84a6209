// KvCache: the keys and values of every processed position, per layer (float32), plus the keys
// once more, blocked by position (ops::blocked_key_index, 16 positions per block): decode's q·K
// then runs along positions, 16 at a time, instead of a horizontal sum per key (6 ms per token
// at 1k context for the 0.5B LLM), and reads each key/value head's keys as one forward stream.
// Per-session state; sized once from the request (prompt + max new tokens) so the decode loop
// never allocates.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/attention.h"

namespace ivl::model {

class KvCache {
 public:
  KvCache() = default;
  KvCache(int64_t layers, int64_t capacity, int64_t kv_dim)
      : layers_(layers),
        capacity_(capacity),
        kv_dim_(kv_dim),
        k_(static_cast<size_t>(layers * capacity * kv_dim)),
        v_(static_cast<size_t>(layers * capacity * kv_dim)),
        kt_(static_cast<size_t>(layers * ops::key_blocks(capacity) * kt_block_stride())) {}

  float* k(int64_t layer, int64_t pos) { return k_.data() + (layer * capacity_ + pos) * kv_dim_; }
  float* v(int64_t layer, int64_t pos) { return v_.data() + (layer * capacity_ + pos) * kv_dim_; }
  // The position-blocked keys of a layer: element (c, pos) at
  // kt(layer)[ops::blocked_key_index(c, pos, kt_block_stride())]; the last block is whole.
  float* kt(int64_t layer) {
    return kt_.data() + layer * ops::key_blocks(capacity_) * kt_block_stride();
  }
  int64_t kt_block_stride() const { return kv_dim_ * ops::kKeyBlock; }
  int64_t size() const { return size_; }  // positions filled
  int64_t capacity() const { return capacity_; }
  int64_t kv_dim() const { return kv_dim_; }
  void set_size(int64_t n) { size_ = n; }
  void clear() { size_ = 0; }
  size_t bytes() const { return (k_.size() + v_.size() + kt_.size()) * sizeof(float); }

 private:
  int64_t layers_ = 0, capacity_ = 0, kv_dim_ = 0, size_ = 0;
  std::vector<float> k_, v_, kt_;
};

}  // namespace ivl::model
