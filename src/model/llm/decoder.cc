#include "model/llm/decoder.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/mapped_file.h"
#include "core/thread_scratch.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/linear.h"

namespace ivl::model {
namespace {

// Activation buffers of one forward pass. Decode runs a forward pass per token, and "no
// allocation in the decode loop" means these must outlive the call: they belong to the calling
// thread (a session runs on one thread at a time) and only grow during a request; the session
// frees them when the request ends (core/thread_scratch.h).
struct ForwardScratch {
  ScratchVector<float> normed, branch, gate_up, act, qkv, ctx;
  ScratchVector<float> rope_cos, rope_sin;  // the pass's rotation, shared by every layer
  ScratchVector<int64_t> positions;
};

constexpr int64_t kMlpRows = 256;

ForwardScratch& scratch() {
  thread_local ForwardScratch s;
  return s;
}

template <class T>
T* sized(std::vector<T>& v, int64_t n) {
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
  return v.data();
}

}  // namespace

Result<Decoder> Decoder::create(const LlmSpec& spec, const LlmWeights& weights) {
  IVL_ASSIGN_OR_RETURN(ops::Rope rope,
                       ops::Rope::create(spec.rope, spec.head_dim, spec.max_position_embeddings));
  return Decoder(spec, weights, std::move(rope));
}

void Decoder::embed(std::span<const int32_t> ids, float* out) const {
  const int64_t h = spec_->hidden_size;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::byte* row = weights_->embed.row(ids[i]);
    ops::widen_row(row, weights_->embed.dtype, h, out + static_cast<int64_t>(i) * h);
    if (weights_->embed_in_checkpoint) release_resident_pages({row, weights_->embed.row_bytes()});
  }
}

void Decoder::attention(int layer, const float* normed, int64_t n, KvCache& cache,
                        const float* rope_cos, const float* rope_sin, ThreadPool* pool,
                        float* out) const {
  const LlmSpec& s = *spec_;
  const LlmLayerWeights& l = weights_->layers[static_cast<size_t>(layer)];
  const int64_t qd = s.q_dim(), kvd = s.kv_dim(), width = qd + 2 * kvd, pos0 = cache.size();
  ForwardScratch& sc = scratch();
  float* qkv = sized(sc.qkv, n * width);
  ops::linear(normed, n, l.qkv.w, l.qkv.b(), qkv, pool);
  for (int64_t r = 0; r < n; ++r) {
    float* q = qkv + r * width;
    float* k = q + qd;
    if (s.qk_norm) {  // Qwen3: RMSNorm per head over head_dim, before RoPE
      const float eps = static_cast<float>(s.rms_norm_eps);
      ops::rms_norm(q, s.num_heads, s.head_dim, l.q_norm.data(), eps, q);
      ops::rms_norm(k, s.num_kv_heads, s.head_dim, l.k_norm.data(), eps, k);
    }
  }
  const int64_t seq_len = pos0 + n;
  rope_.rotate(qkv, n, width, s.num_heads, rope_cos, rope_sin);
  rope_.rotate(qkv + qd, n, width, s.num_kv_heads, rope_cos, rope_sin);
  float* kt = cache.kt(layer);
  for (int64_t r = 0; r < n; ++r) {
    const float* k = qkv + r * width + qd;
    std::copy(k, k + kvd, cache.k(layer, pos0 + r));
    std::copy(k + kvd, k + 2 * kvd, cache.v(layer, pos0 + r));
    for (int64_t c = 0; c < kvd; ++c)
      kt[ops::blocked_key_index(c, pos0 + r, cache.kt_block_stride())] = k[c];
  }
  float* ctx = sized(sc.ctx, n * qd);
  ops::AttentionShape a;
  a.n_q = n;
  a.n_kv = seq_len;
  a.n_heads = s.num_heads;
  a.n_kv_heads = s.num_kv_heads;
  a.head_dim = s.head_dim;
  a.q_stride = width;
  a.kv_stride = kvd;
  a.out_stride = qd;
  a.scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  a.causal = true;
  a.q_offset = pos0;
  a.kt = kt;
  a.kt_block_stride = cache.kt_block_stride();
  a.kv_capacity = cache.capacity();
  // bf16 attention pays for packing K and V per call: worth it for prompt blocks, not per token.
  a.bf16 = weights_->bf16_math && n >= 16;
  ops::attention(qkv, cache.k(layer, 0), cache.v(layer, 0), ctx, a, pool);
  ops::linear(ctx, n, l.o.w, l.o.b(), out, pool);
}

void Decoder::forward(float* x, int64_t n, KvCache& cache, float* last_logits, ThreadPool* pool,
                      TapSink* taps) const {
  const LlmSpec& s = *spec_;
  IVL_CHECK(cache.size() + n <= cache.capacity());
  const int64_t h = s.hidden_size, f = s.intermediate_size;
  const float eps = static_cast<float>(s.rms_norm_eps);
  ForwardScratch& sc = scratch();
  float* normed = sized(sc.normed, n * h);
  float* branch = sized(sc.branch, n * h);
  // The MLP runs kMlpRows rows at a time: its [rows, 2F] and [rows, F] buffers are the largest of
  // a prefill (a 4k-token prompt would hold 240 MiB of them for Qwen2.5-0.5B at once), and a
  // 256-row product still fills the GEMM kernels.
  const int64_t mlp_rows = std::min(n, kMlpRows);
  float* gate_up = sized(sc.gate_up, mlp_rows * 2 * f);
  float* act = sized(sc.act, mlp_rows * f);
  // Every layer rotates its queries and keys by the same angles: one cos / sin table per pass
  // (it was computed twice per layer).
  const int64_t pos0 = cache.size(), half = s.head_dim / 2;
  int64_t* positions = sized(sc.positions, n);
  std::iota(positions, positions + n, pos0);
  float* rope_cos = sized(sc.rope_cos, n * half);
  float* rope_sin = sized(sc.rope_sin, n * half);
  rope_.angles(n, positions, pos0 + n, rope_cos, rope_sin);
  for (int64_t i = 0; i < s.num_layers; ++i) {
    const LlmLayerWeights& l = weights_->layers[static_cast<size_t>(i)];
    ops::rms_norm(x, n, h, l.attn_norm.data(), eps, normed);
    attention(static_cast<int>(i), normed, n, cache, rope_cos, rope_sin, pool, branch);
    ops::add_inplace(x, branch, n * h);
    ops::rms_norm(x, n, h, l.mlp_norm.data(), eps, normed);
    for (int64_t r0 = 0; r0 < n; r0 += mlp_rows) {
      const int64_t m = std::min(mlp_rows, n - r0);
      ops::linear(normed + r0 * h, m, l.gate_up.w, l.gate_up.b(), gate_up, pool);
      for (int64_t r = 0; r < m; ++r) {
        float* g = gate_up + r * 2 * f;
        ops::silu_mul(g, g + f, f);
        std::copy(g, g + f, act + r * f);
      }
      ops::linear(act, m, l.down.w, l.down.b(), branch + r0 * h, pool);
    }
    ops::add_inplace(x, branch, n * h);
    tap(
        taps, [i] { return "llm.L" + std::to_string(i) + ".out"; }, x, n, h);
  }
  cache.set_size(cache.size() + n);
  ops::rms_norm(x, n, h, weights_->final_norm.data(), eps, normed);
  tap(
      taps, [] { return std::string("llm.final_norm.out"); }, normed, n, h);
  if (last_logits != nullptr) {
    ops::linear(normed + (n - 1) * h, 1, weights_->head, nullptr, last_logits, pool);
    tap(
        taps, [] { return std::string("llm.logits.last"); }, last_logits, 1, weights_->head.out);
  }
}

}  // namespace ivl::model
