// Scaled dot-product attention over float32 activations.
//
// Layouts: q[n_q, n_heads·D], k/v[n_kv, n_kv_heads·D] (row stride given), out[n_q, n_heads·D].
// GQA: query head h reads key/value head h / (n_heads / n_kv_heads).
// Scores are computed per block of query rows (never the whole n_q × n_kv matrix at once).
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace ivl::ops {

// Decode's copy of the keys (what the KV cache keeps and decode attention reads), blocked by
// position: blocks of kKeyBlock positions, `block_stride` floats apart (≥ columns · kKeyBlock);
// within a block, each key column's kKeyBlock values in turn. One key/value head's share of a
// block is then head_dim · kKeyBlock contiguous floats (4 KB for head_dim 64), read as one
// stream, and a column's scores for the block's positions are one 16-lane vector.
constexpr int64_t kKeyBlock = 16;
constexpr int64_t blocked_key_index(int64_t c, int64_t j, int64_t block_stride) {
  return (j / kKeyBlock) * block_stride + c * kKeyBlock + j % kKeyBlock;
}
// The whole blocks that hold `positions` positions.
constexpr int64_t key_blocks(int64_t positions) {
  return (positions + kKeyBlock - 1) / kKeyBlock;
}

struct AttentionShape {
  int64_t n_q = 0;
  int64_t n_kv = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t q_stride = 0;   // floats between consecutive query rows
  int64_t kv_stride = 0;  // floats between consecutive key/value rows
  int64_t out_stride = 0;
  float scale = 1.f;
  // Causal: query row i sits at absolute position q_offset + i and sees keys 0..q_offset + i.
  bool causal = false;
  int64_t q_offset = 0;
  // bf16 products (Q, K, V and the probabilities rounded to bf16, float32 accumulation and
  // softmax), for the packed weight formats; false: float32 throughout. head_dim must be even.
  bool bf16 = false;
  // Optional: the same keys blocked by position, element (c, j) at
  // kt[blocked_key_index(c, j, kt_block_stride)] for the n_kv_heads·D columns c, whole blocks
  // allocated (reads stay inside the last block). Few-query (decode, n_q ≤ 4) attention then
  // runs the kernel table's decode_attention: a column's keys scored 16 at once, each query
  // group's keys and values read once.
  const float* kt = nullptr;
  int64_t kt_block_stride = 0;
  // Optional: the most keys these keys and values will grow to (the KV cache's capacity). Decode
  // sizes its per-thread score scratch for it once, so that a context growing by one key per
  // step does not reallocate it (no allocation in the decode loop); 0: n_kv.
  int64_t kv_capacity = 0;
};

// Dispatches to attention_bf16 when s.bf16 is set.
void attention(const float* q, const float* k, const float* v, float* out, const AttentionShape& s,
               ThreadPool* pool);

void attention_bf16(const float* q, const float* k, const float* v, float* out,
                    const AttentionShape& s, ThreadPool* pool);

}  // namespace ivl::ops
