// The generic decoder-only LLM forward pass (spec §9): pre-norm blocks, GQA attention with RoPE
// and optional per-head q/k RMSNorm, SwiGLU MLP, final RMSNorm, output head. One code path for
// every backbone; the differences are in LlmSpec and the weights.
#pragma once

#include <cstdint>
#include <span>

#include "core/thread_pool.h"
#include "ivl/status.h"
#include "model/llm/kv_cache.h"
#include "model/llm/llm_spec.h"
#include "model/runtime_weights.h"
#include "model/taps.h"
#include "ops/rope.h"

namespace ivl::model {

class Decoder {
 public:
  // kUnsupported when the spec needs something not implemented (e.g. a RoPE variant).
  static Result<Decoder> create(const LlmSpec& spec, const LlmWeights& weights);

  const LlmSpec& spec() const { return *spec_; }

  // Token embeddings of `ids` into out[ids.size(), H]. Ids must be < vocab (checked by caller).
  void embed(std::span<const int32_t> ids, float* out) const;

  // Runs n new positions (hidden states x[n, H], modified in place) after the cache's current
  // contents, appends their keys/values, and writes the logits of the last position to
  // last_logits[V] (skipped when null). Requires cache.size() + n <= cache.capacity().
  // Taps: llm.L{i}.out [n, H], llm.final_norm.out [n, H], llm.logits.last [1, V].
  void forward(float* x, int64_t n, KvCache& cache, float* last_logits, ThreadPool* pool,
               TapSink* taps) const;

  KvCache make_cache(int64_t capacity) const {
    return KvCache(spec_->num_layers, capacity, spec_->kv_dim());
  }

 private:
  Decoder(const LlmSpec& spec, const LlmWeights& weights, ops::Rope rope)
      : spec_(&spec), weights_(&weights), rope_(std::move(rope)) {}

  // One layer's attention block for n new positions; rope_cos / rope_sin: their rotation
  // (ops::Rope::angles).
  void attention(int layer, const float* normed, int64_t n, KvCache& cache, const float* rope_cos,
                 const float* rope_sin, ThreadPool* pool, float* out) const;

  const LlmSpec* spec_;
  const LlmWeights* weights_;
  ops::Rope rope_;
};

}  // namespace ivl::model
