// Per-token work outside the model (runtime/sampler.h): choosing the next token from a
// vocabulary of logits, and the log-probabilities a request may ask for. The logits are those of
// Qwen2.5's vocabulary size (151,674), drawn so that the distribution is peaked like a trained
// model's: a normal body (sd 2) and a few dozen tokens 6–12 above it. The `flat` rows use
// logits with little spread (sd 0.3, no peaks), as the random-weight benchmark checkpoints of
// `internvl mkmodel` give: the nucleus then holds most of the vocabulary (the worst case).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "runtime/sampler.h"

namespace {

using ivl::SamplingOptions;
using ivl::runtime::Sampler;

constexpr int64_t kVocab = 151674;

std::vector<float> random_logits(float spread, int peaks) {
  std::mt19937 rng(1);
  std::normal_distribution<float> body(0.f, spread);
  std::uniform_real_distribution<float> lift(6.f, 12.f);
  std::vector<float> v(static_cast<size_t>(kVocab));
  for (float& x : v) x = body(rng);
  std::uniform_int_distribution<int64_t> pick(0, kVocab - 1);
  for (int i = 0; i < peaks; ++i) v[static_cast<size_t>(pick(rng))] += lift(rng);
  return v;
}

const std::vector<float>& model_like_logits() {
  static const std::vector<float> logits = random_logits(2.f, 40);
  return logits;
}

const std::vector<float>& flat_logits() {
  static const std::vector<float> logits = random_logits(0.3f, 0);
  return logits;
}

// One Sampler::sample per iteration on a fresh copy of the logits (sample() modifies them; the
// copy, a 607 KB memcpy, is timed too and is the floor of every row).
void BM_Sample(benchmark::State& state, SamplingOptions options, bool flat) {
  const std::vector<float>& source = flat ? flat_logits() : model_like_logits();
  Sampler sampler(options);
  std::vector<int32_t> history(200);
  for (size_t i = 0; i < history.size(); ++i) history[i] = static_cast<int32_t>(i * 613 % kVocab);
  std::vector<float> logits;
  for (auto _ : state) {
    logits = source;
    benchmark::DoNotOptimize(sampler.sample(logits, history, std::span(history).last(50)));
  }
}

void BM_TopLogprobs(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(ivl::runtime::top_logprobs(model_like_logits(), k));
  }
}

void BM_LogSoftmaxAt(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(ivl::runtime::log_softmax_at(model_like_logits(), 7));
  }
}

}  // namespace

BENCHMARK_CAPTURE(BM_Sample, greedy, SamplingOptions{}, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Sample, temperature, SamplingOptions{.temperature = 0.7f}, false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Sample, top_p, SamplingOptions{.temperature = 0.7f, .top_p = 0.9f}, false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Sample, top_k_top_p,
                  SamplingOptions{.temperature = 0.7f, .top_k = 40, .top_p = 0.9f}, false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Sample, min_p, SamplingOptions{.temperature = 0.7f, .min_p = 0.05f}, false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Sample, penalties_top_p,
                  SamplingOptions{.temperature = 0.7f,
                                  .top_p = 0.9f,
                                  .repetition_penalty = 1.1f,
                                  .presence_penalty = 0.5f},
                  false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Sample, flat_temperature, SamplingOptions{.temperature = 0.7f}, true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Sample, flat_top_p, SamplingOptions{.temperature = 0.7f, .top_p = 0.9f}, true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopLogprobs)->Arg(5)->Arg(20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LogSoftmaxAt)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
