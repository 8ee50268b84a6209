// Token selection from logits: penalties, temperature, top-k, top-p, min-p, seeded sampling.
//
// Order (as HF generate applies its processors): repetition penalty, presence penalty,
// temperature, top-k, top-p, min-p, then sample (or argmax when temperature is 0).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "ivl/engine.h"

namespace ivl::runtime {

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);

  // Picks the next token. `logits` is modified (penalties, temperature). `history` holds the
  // prompt then the generated ids (repetition penalty); `generated` the generated ids only.
  int32_t sample(std::span<float> logits, std::span<const int32_t> history,
                 std::span<const int32_t> generated);

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;  // reused; no allocation per token
  std::vector<uint8_t> seen_;                          // per-token marks for the penalties
};

// Whether every logit is finite. A NaN or infinity means the model's arithmetic broke down
// (weights holding NaN or infinity, say): argmax and sampling would pick arbitrary tokens.
bool all_finite(std::span<const float> logits);

// log-softmax of `logits` at `id`, and the top-k (id, logprob) pairs, highest first.
float log_softmax_at(std::span<const float> logits, int32_t id);
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int k);

}  // namespace ivl::runtime
