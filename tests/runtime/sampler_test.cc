#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

namespace ivl::runtime {
namespace {

std::vector<float> logits() {
  return {1.0f, 3.0f, 2.0f, 0.5f, 2.9f};
}

int32_t pick(SamplingOptions o, std::vector<float> l = logits(), std::vector<int32_t> history = {},
             std::vector<int32_t> generated = {}) {
  Sampler s(o);
  return s.sample(l, history, generated);
}

TEST(Sampler, GreedyIsArgmax) {
  EXPECT_EQ(pick({}), 1);
}

TEST(Sampler, TopKOneAndTinyTopPAreArgmax) {
  EXPECT_EQ(pick({.temperature = 1.f, .top_k = 1}), 1);
  EXPECT_EQ(pick({.temperature = 1.f, .top_p = 0.01f}), 1);
  EXPECT_EQ(pick({.temperature = 1.f, .min_p = 0.99f}), 1);
}

TEST(Sampler, SeededSamplingIsReproducibleAndFollowsTheDistribution) {
  SamplingOptions o{.temperature = 1.f, .seed = 42};
  Sampler a(o), b(o);
  std::map<int32_t, int> counts;
  for (int i = 0; i < 4000; ++i) {
    auto la = logits(), lb = logits();
    int32_t x = a.sample(la, {}, {});
    EXPECT_EQ(x, b.sample(lb, {}, {}));
    counts[x]++;
  }
  // softmax(1, 3, 2, .5, 2.9): p(1) = 0.397, p(4) = 0.359, p(2) = 0.146 ...
  double z = std::exp(1.0) + std::exp(3.0) + std::exp(2.0) + std::exp(0.5) + std::exp(2.9);
  EXPECT_NEAR(counts[1] / 4000.0, std::exp(3.0) / z, 0.03);
  EXPECT_NEAR(counts[4] / 4000.0, std::exp(2.9) / z, 0.03);
  EXPECT_NEAR(counts[3] / 4000.0, std::exp(0.5) / z, 0.02);
}

TEST(Sampler, TopKRestrictsTheSupport) {
  Sampler s({.temperature = 5.f, .top_k = 2, .seed = 7});
  for (int i = 0; i < 500; ++i) {
    auto l = logits();
    int32_t x = s.sample(l, {}, {});
    EXPECT_TRUE(x == 1 || x == 4) << x;
  }
}

TEST(Sampler, RepetitionPenaltyFollowsHfSemantics) {
  // Token 1 (logit 3) seen: 3 / 2 = 1.5 < 2.9, so token 4 wins greedily.
  EXPECT_EQ(pick({.repetition_penalty = 2.f}, logits(), {1}), 4);
  // Negative logits are multiplied: -1 * 2 = -2.
  std::vector<float> l = {-1.f, -1.5f};
  Sampler s({.repetition_penalty = 2.f});
  std::vector<int32_t> hist = {0};
  EXPECT_EQ(s.sample(l, hist, {}), 1);
  EXPECT_FLOAT_EQ(l[0], -2.f);
}

TEST(Sampler, PresencePenaltyAppliesToGeneratedTokensOnly) {
  EXPECT_EQ(pick({.presence_penalty = 0.5f}, logits(), {}, {1}), 4);
  EXPECT_EQ(pick({.presence_penalty = 0.5f}, logits(), {1}, {}), 1);
}

TEST(Logprobs, LogSoftmaxAndTopK) {
  auto l = logits();
  double z = 0;
  for (float v : l) z += std::exp(static_cast<double>(v));
  EXPECT_NEAR(log_softmax_at(l, 2), 2.0 - std::log(z), 1e-6);
  auto top = top_logprobs(l, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].id, 1);
  EXPECT_EQ(top[1].id, 4);
  EXPECT_EQ(top[2].id, 2);
  EXPECT_NEAR(top[0].logprob, 3.0 - std::log(z), 1e-6);
}

TEST(AllFinite, FindsANanOrInfinityAnywhere) {
  std::vector<float> v(151674);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 977) * 0.37f - 180.f;
  v[5] = std::numeric_limits<float>::max();
  v[6] = -std::numeric_limits<float>::max();
  v[7] = std::numeric_limits<float>::denorm_min();
  EXPECT_TRUE(all_finite(v));
  EXPECT_TRUE(all_finite(std::span<const float>()));
  for (size_t at : {size_t{0}, size_t{17}, v.size() / 2, v.size() - 1}) {
    for (float bad : {NAN, -NAN, INFINITY, -INFINITY}) {
      std::vector<float> w = v;
      w[at] = bad;
      EXPECT_FALSE(all_finite(w)) << at << " " << bad;
      // and in a short span, where no vector loop runs
      EXPECT_FALSE(all_finite(std::span<const float>(w).subspan(at, 1))) << at;
    }
  }
}

}  // namespace
}  // namespace ivl::runtime
