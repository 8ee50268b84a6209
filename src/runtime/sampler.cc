#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/simd_dispatch.h"

namespace ivl::runtime {
namespace {

double log_sum_exp(std::span<const float> logits) {
  float m = -INFINITY;
  for (float v : logits) m = std::max(m, v);
  double s = 0;
  for (float v : logits) s += std::exp(static_cast<double>(v - m));
  return m + std::log(s);
}

}  // namespace

IVL_SIMD_CLONES
bool all_finite(std::span<const float> logits) {
  // On the bits (an all-ones exponent), with an OR over the vocabulary: a loop the compiler
  // vectorises; 5.8 µs for a 151,674-word vocabulary on the Zen 5 host (21 µs without the
  // AVX-512 clone), under 0.1 % of a decode step.
  uint32_t special = 0;
  for (const float v : logits) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    special |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return special == 0;
}

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history,
                        std::span<const int32_t> generated) {
  const auto vocab = static_cast<int32_t>(logits.size());
  // Each distinct token is penalised once: a per-vocabulary mark, set and cleared around the
  // loop (no set built per token).
  auto for_each_distinct = [&](std::span<const int32_t> ids, auto&& fn) {
    if (seen_.size() < static_cast<size_t>(vocab)) seen_.resize(static_cast<size_t>(vocab), 0);
    for (int32_t id : ids) {
      if (id < 0 || id >= vocab || seen_[static_cast<size_t>(id)] != 0) continue;
      seen_[static_cast<size_t>(id)] = 1;
      fn(logits[static_cast<size_t>(id)]);
    }
    for (int32_t id : ids) {
      if (id >= 0 && id < vocab) seen_[static_cast<size_t>(id)] = 0;
    }
  };
  if (options_.repetition_penalty != 1.f) {
    const float p = options_.repetition_penalty;
    for_each_distinct(history, [p](float& l) { l = l > 0 ? l / p : l * p; });
  }
  if (options_.presence_penalty != 0.f) {
    const float p = options_.presence_penalty;
    for_each_distinct(generated, [p](float& l) { l -= p; });
  }
  if (options_.temperature <= 0.f) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  candidates_.clear();
  for (int32_t i = 0; i < vocab; ++i) {
    candidates_.emplace_back(logits[static_cast<size_t>(i)] / options_.temperature, i);
  }
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first; };
  size_t keep = candidates_.size();
  if (options_.top_k > 0 && static_cast<size_t>(options_.top_k) < keep) {
    keep = static_cast<size_t>(options_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<ptrdiff_t>(keep),
                      candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  candidates_.resize(keep);
  // Softmax over the kept candidates (sorted, highest first).
  const float top = candidates_[0].first;
  double total = 0;
  for (auto& c : candidates_) {
    c.first = std::exp(c.first - top);
    total += c.first;
  }
  for (auto& c : candidates_) c.first = static_cast<float>(c.first / total);
  if (options_.top_p < 1.f) {  // smallest prefix whose mass reaches top_p (at least one)
    double mass = 0;
    size_t n = 0;
    while (n < candidates_.size()) {
      mass += candidates_[n++].first;
      if (mass >= options_.top_p) break;
    }
    candidates_.resize(n);
  }
  if (options_.min_p > 0.f) {  // drop tokens below min_p x the top probability
    const float floor = options_.min_p * candidates_[0].first;
    size_t n = 1;
    while (n < candidates_.size() && candidates_[n].first >= floor) ++n;
    candidates_.resize(n);
  }
  double mass = 0;
  for (const auto& c : candidates_) mass += c.first;
  std::uniform_real_distribution<double> uniform(0.0, mass);
  double r = uniform(rng_);
  for (const auto& c : candidates_) {
    r -= c.first;
    if (r <= 0) return c.second;
  }
  return candidates_.back().second;
}

float log_softmax_at(std::span<const float> logits, int32_t id) {
  return static_cast<float>(logits[static_cast<size_t>(id)] - log_sum_exp(logits));
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int k) {
  const double lse = log_sum_exp(logits);
  std::vector<int32_t> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  k = std::min<int>(k, static_cast<int>(ids.size()));
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });
  std::vector<TokenLogprob> out;
  for (int i = 0; i < k; ++i) {
    out.push_back(
        {ids[static_cast<size_t>(i)],
         static_cast<float>(logits[static_cast<size_t>(ids[static_cast<size_t>(i)])] - lse)});
  }
  return out;
}

}  // namespace ivl::runtime
