#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>

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
  // top_p = 0: still the most likely token, also when a less likely one comes first by id.
  EXPECT_EQ(pick({.temperature = 1.f, .top_p = 0.f}, {2.9f, 3.f, 0.f, 0.f}), 1);
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

// What sample() must draw from, computed the plain way: sort everything. Top-k by logit (ties:
// lower id), a double-precision softmax over what is left, the smallest prefix in likelihood
// order (ties: lower id) whose mass reaches top_p, then the tokens at least min_p times the most
// likely; returned in id order, renormalised.
std::vector<Candidate> reference_distribution(const std::vector<float>& logits,
                                              const SamplingOptions& o) {
  struct Entry {
    int32_t id;
    double value;
  };
  auto higher = [](const Entry& a, const Entry& b) {
    return a.value > b.value || (a.value == b.value && a.id < b.id);
  };
  std::vector<Entry> e;
  for (size_t i = 0; i < logits.size(); ++i) e.push_back({static_cast<int32_t>(i), logits[i]});
  std::sort(e.begin(), e.end(), higher);
  if (o.top_k > 0 && static_cast<size_t>(o.top_k) < e.size()) e.resize(o.top_k);
  if (e.empty()) return {};
  const double top = e.front().value / o.temperature;
  double z = 0;
  for (Entry& x : e) z += (x.value = std::exp(x.value / o.temperature - top));
  for (Entry& x : e) x.value /= z;
  if (o.top_p < 1.f) {
    size_t n = 0;
    double mass = 0;
    while (n < e.size() && mass < o.top_p) mass += e[n++].value;
    e.resize(std::max<size_t>(n, 1));
  }
  const double floor = o.min_p * e.front().value;
  std::erase_if(e, [&](const Entry& x) { return x.value < floor; });
  double kept = 0;
  for (const Entry& x : e) kept += x.value;
  std::vector<Candidate> out;
  for (const Entry& x : e) out.push_back({x.id, static_cast<float>(x.value / kept)});
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return out;
}

// Logits of `vocab` tokens: a normal body (sd `spread`) and `peaks` tokens lifted 6–12 above it,
// as a trained model's are; spread 0 makes every logit equal (all tied).
std::vector<float> random_logits(size_t vocab, float spread, int peaks, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> body(0.f, spread);
  std::uniform_real_distribution<float> lift(6.f, 12.f);
  std::vector<float> v(vocab);
  for (float& x : v) x = spread > 0 ? body(rng) : 0.f;
  for (int i = 0; i < peaks; ++i) v[rng() % vocab] += lift(rng);
  return v;
}

// The sampler finds the nucleus by selection rather than a sort, leaves out tokens that cannot
// be in it, and orders the survivors by id: it must still draw from exactly the distribution a
// full sort defines — on small and Qwen-sized vocabularies, flat, peaked and fully tied logits,
// with every combination of the truncations. (Tied tokens, 301 or top-k's 40: no top_p here is
// a multiple of their probability, where float and double sums could end the nucleus a token
// apart.)
TEST(Sampler, DrawsFromTheDistributionAFullSortDefines) {
  struct Shape {
    size_t vocab;
    float spread;
    int peaks;
  };
  const Shape shapes[] = {{5, 1.f, 0},     {300, 2.f, 3},     {301, 0.f, 0},
                          {5000, 0.3f, 0}, {151674, 2.f, 40}, {151674, 0.05f, 0}};
  const int top_ks[] = {0, 1, 40, 4000};
  const float top_ps[] = {1.f, 0.93f, 0.51f, 0.06f, 0.f};
  const float min_ps[] = {0.f, 0.05f};
  int cases = 0;
  for (size_t s = 0; s < std::size(shapes); ++s) {
    const std::vector<float> logits =
        random_logits(shapes[s].vocab, shapes[s].spread, shapes[s].peaks, 100 + s);
    for (int top_k : top_ks) {
      for (float top_p : top_ps) {
        for (float min_p : min_ps) {
          const SamplingOptions o{
              .temperature = 0.7f, .top_k = top_k, .top_p = top_p, .min_p = min_p, .seed = 3};
          SCOPED_TRACE(testing::Message()
                       << "vocab " << shapes[s].vocab << " spread " << shapes[s].spread << " top_k "
                       << top_k << " top_p " << top_p << " min_p " << min_p);
          Sampler sampler(o);
          std::vector<float> l = logits;
          const int32_t id = sampler.sample(l, {}, {});
          const std::span<const Candidate> got = sampler.last_distribution();
          const std::vector<Candidate> want = reference_distribution(logits, o);
          ASSERT_EQ(got.size(), want.size());
          bool drawn_is_kept = false;
          for (size_t i = 0; i < want.size(); ++i) {
            ASSERT_EQ(got[i].id, want[i].id) << i;
            EXPECT_NEAR(got[i].p, want[i].p, 1e-5 * want[i].p + 1e-9) << i;
            drawn_is_kept |= got[i].id == id;
          }
          EXPECT_TRUE(drawn_is_kept) << id;
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 6 * 4 * 5 * 2);
}

// A sampler is reused for every token of a request: state left by one call (the penalties'
// and the id ordering's vocabulary marks, its buffers) must not change the next. One sampler
// over a sequence of different steps draws from what a fresh sampler draws from at each.
TEST(Sampler, AReusedSamplerDrawsLikeAFreshOne) {
  const SamplingOptions o{.temperature = 0.9f,
                          .top_p = 0.95f,
                          .min_p = 0.001f,
                          .repetition_penalty = 1.3f,
                          .presence_penalty = 0.4f,
                          .seed = 11};
  Sampler reused(o);
  std::vector<int32_t> history = {5, 17, 5, 40000, 151000};
  for (int step = 0; step < 8; ++step) {
    SCOPED_TRACE(step);
    // Alternating peaked and flat steps: small nuclei (sorted) and large ones (marks).
    const std::vector<float> logits = step % 2 == 0 ? random_logits(151674, 2.f, 40, 50 + step)
                                                    : random_logits(151674, 0.05f, 0, 50 + step);
    std::vector<float> a = logits, b = logits;
    const std::vector<int32_t> generated(history.begin() + 3, history.end());
    reused.sample(a, history, generated);
    Sampler fresh(o);
    fresh.sample(b, history, generated);
    EXPECT_EQ(a, b) << "penalties applied alike";
    const std::span<const Candidate> x = reused.last_distribution(), y = fresh.last_distribution();
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(x[i].id, y[i].id) << i;
      ASSERT_EQ(x[i].p, y[i].p) << i;
    }
    history.push_back(static_cast<int32_t>(x[x.size() / 2].id));
  }
}

// Equal logits: top-k and the nucleus take the lower ids first.
TEST(Sampler, TiesGoToTheLowerId) {
  const std::vector<float> tied(10, 1.f);
  Sampler k3({.temperature = 1.f, .top_k = 3});
  std::vector<float> l = tied;
  k3.sample(l, {}, {});
  ASSERT_EQ(k3.last_distribution().size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(k3.last_distribution()[i].id, i);
  Sampler p35({.temperature = 1.f, .top_p = 0.35f});  // 4 × 0.1 is the first to reach 0.35
  l = tied;
  p35.sample(l, {}, {});
  ASSERT_EQ(p35.last_distribution().size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(p35.last_distribution()[i].id, i);
    EXPECT_FLOAT_EQ(p35.last_distribution()[i].p, 0.25f);
  }
}

// top_logprobs keeps the k highest in order (ties: lower id first) without sorting the
// vocabulary; the log-probabilities are exact log-softmax values.
TEST(Logprobs, TopKOfALargeVocabularyWithTies) {
  std::vector<float> l = random_logits(151674, 2.f, 40, 9);
  l[70000] = l[80000] = 30.f;  // a tie at the top
  l[5] = 29.f;
  double z = 0;
  for (float v : l) z += std::exp(static_cast<double>(v) - 30.0);
  const double lse = 30.0 + std::log(z);
  std::vector<int32_t> order(l.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
  const std::vector<TokenLogprob> top = top_logprobs(l, 20);
  ASSERT_EQ(top.size(), 20u);
  EXPECT_EQ(top[0].id, 70000);
  EXPECT_EQ(top[1].id, 80000);
  EXPECT_EQ(top[2].id, 5);
  for (size_t i = 0; i < top.size(); ++i) {
    EXPECT_EQ(top[i].id, order[i]) << i;
    EXPECT_NEAR(top[i].logprob, l[order[i]] - lse, 1e-5) << i;
  }
  EXPECT_NEAR(log_softmax_at(l, 5), 29.0 - lse, 1e-5);
  EXPECT_EQ(top_logprobs(std::vector<float>{1.f, 2.f}, 5).size(), 2u);
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
