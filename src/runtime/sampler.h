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

// One token of the distribution a sampled step draws from.
struct Candidate {
  int32_t id = 0;
  float p = 0.f;  // probability
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);

  // Picks the next token. `logits` is modified (penalties, temperature). `history` holds the
  // prompt then the generated ids (repetition penalty); `generated` the generated ids only.
  // Allocates nothing once its buffers have grown to the vocabulary (the first call).
  int32_t sample(std::span<float> logits, std::span<const int32_t> history,
                 std::span<const int32_t> generated);

  // The distribution the last sample() drew from: the tokens left after top-k, top-p and min-p,
  // in increasing id order, with their probabilities renormalised over them. Empty after a
  // greedy step. For tests and diagnostics.
  std::span<const Candidate> last_distribution() const { return candidates_; }

 private:
  void apply_penalties(std::span<float> logits, std::span<const int32_t> history,
                       std::span<const int32_t> generated);
  // candidates_ ← the tokens of `logits` / temperature that top-k leaves, with probabilities;
  // without top-k, only those of probability ≥ floor (left_out_: some were left out).
  void softmax_candidates(std::span<const float> logits, float floor);
  // Keeps the smallest set of most likely candidates whose probability reaches top_p; false
  // when all of them together do not (all are kept).
  bool keep_nucleus();
  // Keeps the candidates at least min_p times as likely as the most likely one.
  void keep_above_min_p();
  // candidates_ in increasing id order, probabilities renormalised to sum 1.
  void order_and_normalise(int32_t vocab);

  SamplingOptions options_;
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;  // reused; no allocation per token
  std::vector<float> probs_;           // probabilities over the vocabulary (no top-k)
  std::vector<double> bucket_mass_;    // the nucleus search's histogram
  std::vector<uint8_t> seen_;          // per-token marks for the penalties and id ordering
  bool in_id_order_ = true;            // candidates_ in increasing id order
  bool left_out_ = false;              // softmax_candidates left tokens below its floor out
};

// Whether every logit is finite. A NaN or infinity means the model's arithmetic broke down
// (weights holding NaN or infinity, say): argmax and sampling would pick arbitrary tokens.
bool all_finite(std::span<const float> logits);

// log-softmax of `logits` at `id`, and the top-k (id, logprob) pairs, highest first.
float log_softmax_at(std::span<const float> logits, int32_t id);
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int k);

}  // namespace ivl::runtime
