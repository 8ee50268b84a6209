// "No allocation in the decode loop" (issue 5): once a request's first steps have grown the
// per-thread scratch buffers, a decode step — the token's embedding, the forward pass over the
// KV cache, the sampler — must not touch the heap, on any thread of the pool, for every weight
// format, every row walk of the quantized GEMVs and (through a second ctest run with
// IVL_KERNELS=portable) both kernel tables.
//
// This binary replaces the global operator new to count allocations, which is why it is a test
// executable of its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "ivl/engine.h"
#include "model/llm/decoder.h"
#include "model/model_description.h"
#include "model/runtime_weights.h"
#include "ops/packed_kernels.h"
#include "ops/packed_test_support.h"
#include "runtime/sampler.h"
#include "support/fixtures.h"

namespace {

// Every operator new of the process, on every thread, and the bytes they asked for.
std::atomic<int64_t> g_allocations{0};
std::atomic<int64_t> g_allocated_bytes{0};

void* counted_allocation(std::size_t bytes, std::size_t alignment) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  g_allocated_bytes.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
  if (bytes == 0) bytes = 1;
  void* p = nullptr;
  if (alignment <= alignof(std::max_align_t)) {
    p = std::malloc(bytes);
  } else if (posix_memalign(&p, alignment, bytes) != 0) {
    p = nullptr;
  }
  return p;
}

void* counted_or_throw(std::size_t bytes, std::size_t alignment) {
  void* p = counted_allocation(bytes, alignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t n) {
  return counted_or_throw(n, 0);
}
void* operator new[](std::size_t n) {
  return counted_or_throw(n, 0);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return counted_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return counted_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_allocation(n, 0);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_allocation(n, 0);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace ivl::runtime {
namespace {

// Prompt positions before decoding, decode steps run first (they grow the scratch buffers),
// and decode steps then counted. The counted steps take the context past several of the
// position blocks of the KV cache's keys (16 positions each) and to 6× the prompt's length, so
// that a buffer sized by the context instead of the cache's capacity would have to grow.
constexpr int64_t kPrompt = 24, kWarmupSteps = 2, kCountedSteps = 128;

struct Model {
  model::ModelDescription desc;
  std::unique_ptr<model::RuntimeWeights> weights;
};

Model load(const std::string& name, WeightFormat format) {
  auto d = model::open_model_description(test::fixture("models/" + name));
  if (!d.ok()) throw std::runtime_error(d.status().to_string());
  Model m{std::move(d).value(), nullptr};
  auto w = model::build_runtime_weights(m.desc, {.llm = format, .vision = WeightFormat::kStored});
  if (!w.ok()) throw std::runtime_error(w.status().to_string());
  m.weights = std::move(w).value();
  return m;
}

// Sampling with every processor on (penalties, temperature, top-k, top-p, min-p).
SamplingOptions every_processor() {
  return {.temperature = 0.8f,
          .top_k = 40,
          .top_p = 0.9f,
          .min_p = 0.01f,
          .repetition_penalty = 1.1f,
          .presence_penalty = 0.5f,
          .seed = 7};
}

// Allocations during kCountedSteps decode steps of `model` in `format`, after a prompt and
// kWarmupSteps steps.
int64_t allocations_while_decoding(const Model& m, const SamplingOptions& sampling) {
  auto dec = model::Decoder::create(m.desc.llm, m.weights->llm);
  if (!dec.ok()) throw std::runtime_error(dec.status().to_string());
  const int64_t h = m.desc.llm.hidden_size, vocab = m.desc.llm.vocab_size;
  ThreadPool pool(2);
  model::KvCache cache = dec->make_cache(kPrompt + kWarmupSteps + kCountedSteps + 1);
  std::vector<int32_t> history;
  history.reserve(static_cast<size_t>(kPrompt + kWarmupSteps + kCountedSteps + 1));
  for (int64_t i = 0; i < kPrompt; ++i) history.push_back(static_cast<int32_t>((37 * i) % vocab));
  std::vector<int32_t> generated;
  generated.reserve(history.capacity());
  std::vector<float> x(static_cast<size_t>(kPrompt * h));
  std::vector<float> logits(static_cast<size_t>(vocab));
  dec->embed(history, x.data());
  dec->forward(x.data(), kPrompt, cache, logits.data(), &pool, nullptr);
  Sampler sampler(sampling);
  int64_t before = 0;
  for (int64_t step = 0; step < kWarmupSteps + kCountedSteps; ++step) {
    if (step == kWarmupSteps) before = g_allocations.load();
    const int32_t next = sampler.sample(logits, history, generated);
    history.push_back(next);
    generated.push_back(next);
    dec->embed(std::span<const int32_t>(&next, 1), x.data());
    dec->forward(x.data(), 1, cache, logits.data(), &pool, nullptr);
  }
  const int64_t during = g_allocations.load() - before;
  // The steps did run: the cache holds every position.
  EXPECT_EQ(cache.size(), kPrompt + kWarmupSteps + kCountedSteps);
  return during;
}

class DecodeAllocation : public ::testing::TestWithParam<std::tuple<std::string, WeightFormat>> {};

// The kernel table this run is about: the second ctest run sets IVL_KERNELS=portable, and a
// run that silently fell back to AVX-512 would only repeat the first.
void expect_requested_kernels() {
  const char* asked = std::getenv("IVL_KERNELS");
  if (asked != nullptr && std::string(asked) == "portable") {
    ASSERT_STREQ(ops::active_kernels().name, "portable");
  }
}

TEST_P(DecodeAllocation, NoHeapAllocationPerStep) {
  const auto& [name, format] = GetParam();
  expect_requested_kernels();
  const Model m = load(name, format);
  SCOPED_TRACE(::testing::Message() << "kernels " << ops::active_kernels().name);
  {
    SCOPED_TRACE("greedy");
    EXPECT_EQ(allocations_while_decoding(m, SamplingOptions{}), 0);
  }
  {
    SCOPED_TRACE("every sampling processor");
    EXPECT_EQ(allocations_while_decoding(m, every_processor()), 0);
  }
  {
    SCOPED_TRACE("top-p alone");  // candidates from the whole vocabulary, a varying number
    EXPECT_EQ(allocations_while_decoding(m, {.temperature = 0.8f, .top_p = 0.9f, .seed = 5}), 0);
  }
  // The AVX-512 quantized GEMVs walk their rows in one of several ways, chosen per CPU: run
  // every one.
  const bool quantized = format == WeightFormat::kQ8_0 || format == WeightFormat::kQ4_0;
  if (!quantized || &ops::active_kernels() != ops::avx512_kernels()) return;
  const ops::RestoreGemvPolicy restore;
  for (const ops::QuantGemvPolicy& walk : ops::every_row_walk()) {
    ops::avx512_quant_gemv_policy() = walk;
    SCOPED_TRACE(::testing::Message()
                 << "short rows " << walk.short_row_max_supers << ", four-row bytes "
                 << walk.four_row_max_bytes << ", q4_0 prefetch " << walk.q4_0_prefetch
                 << ", q4_0 long-row L2 prefetch bytes " << walk.q4_0_long_row_l2_prefetch_bytes);
    EXPECT_EQ(allocations_while_decoding(m, SamplingOptions{}), 0);
  }
}

// The sampler's buffers are sized for the vocabulary on its first call, whatever that call
// needed: a later step whose nucleus is far larger (here: top-k 5000, a peaked distribution
// first, then a flat one, whose thousands of survivors are ordered through the vocabulary's
// marks) allocates nothing.
TEST(DecodeAllocation, SamplerBuffersDoNotGrowAfterTheFirstStep) {
  constexpr size_t kVocab = 151674;
  std::vector<float> peaked(kVocab, 0.f), flat(kVocab, 0.f);
  for (size_t i = 0; i < kVocab; ++i) flat[i] = static_cast<float>(i % 7) * 0.01f;
  for (size_t i = 0; i < 10; ++i) peaked[i * 1000] = 20.f;
  Sampler sampler({.temperature = 1.f, .top_k = 5000, .top_p = 0.9f, .seed = 1});
  std::vector<int32_t> history = {1, 2, 3};
  history.reserve(16);
  std::vector<float> l = peaked;
  sampler.sample(l, history, {});
  ASSERT_LE(sampler.last_distribution().size(), 10u);
  l = flat;
  const int64_t before = g_allocations.load();
  sampler.sample(l, history, {});
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_GT(sampler.last_distribution().size(), 4096u);  // the vocabulary-marks path
}

// Through the public API a step also makes its output — the token's text and, when asked for,
// its top log-probabilities — so the bound is on bytes: a few hundred per token for that, where
// a copy of the logits (a vocabulary of 151,674 floats in the fixture model: 607 KB) made per
// step for the log-probabilities would exceed it a thousandfold.
TEST(DecodeAllocation, SessionStepsAllocateOnlyTheirOutput) {
  auto engine = Engine::load(
      {.model_dir = test::fixture("models/tiny-internvl3-qwen2").string(), .threads = 2});
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  Request request;
  request.prompt = "Who are you?";
  request.sampling.max_new_tokens = 64;
  request.sampling.ignore_eos = true;
  request.sampling.logprobs = 5;
  std::vector<int64_t> bytes_at_token;
  bytes_at_token.reserve(64);
  auto response = (*engine)->new_session()->generate(request, [&](const GeneratedToken& t) {
    EXPECT_EQ(t.top.size(), 5u);
    bytes_at_token.push_back(g_allocated_bytes.load());
    return true;
  });
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  ASSERT_EQ(bytes_at_token.size(), 64u);
  // From the third token on (the first steps grow the scratch buffers).
  const int64_t steps = 64 - 3;
  const int64_t per_step = (bytes_at_token.back() - bytes_at_token[2]) / steps;
  EXPECT_LT(per_step, 1024) << "bytes allocated per decode step";
}

// The counter itself counts (else the test above could not fail): a vector made on each of the
// pool's two threads is two allocations.
TEST(DecodeAllocationCounter, CountsAllocationsOnEveryThread) {
  ThreadPool pool(2);
  std::atomic<int64_t> sizes{0};
  const int64_t before = g_allocations.load();
  pool.parallel_for(2, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const std::vector<int> v(static_cast<size_t>(16 + i));
      sizes += static_cast<int64_t>(v.size());
    }
  });
  EXPECT_EQ(sizes.load(), 33);
  EXPECT_GE(g_allocations.load() - before, 2);
}

INSTANTIATE_TEST_SUITE_P(
    FixtureModels, DecodeAllocation,
    ::testing::Combine(::testing::Values("tiny-internvl3-qwen2", "tiny-internvl35-qwen3-v"),
                       ::testing::Values(WeightFormat::kStored, WeightFormat::kF32,
                                         WeightFormat::kBF16, WeightFormat::kQ8_0,
                                         WeightFormat::kQ4_0)),
    [](const auto& param_info) {
      std::string name =
          std::get<0>(param_info.param) + "_" + weight_format_name(std::get<1>(param_info.param));
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

}  // namespace
}  // namespace ivl::runtime
