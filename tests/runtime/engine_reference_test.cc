// The engine's acceptance test (issue 4): for every fixture model, both checkpoint layouts, and
// every reference case — the prompt ids, the tiles, the image features and last-position logits
// (float32 path, within 1e-4 of the largest magnitude) and all 20 greedy tokens (no EOS stop)
// equal the reference produced by transformers. The stored-precision path (BF16 weights kept as
// stored) must produce the same greedy tokens; its measured deviation is printed.
// The faster weight formats (issue 5) are measured against the same reference (QuantAccuracy):
// the KL divergence of the next-token distribution at the last prompt position, its top-1
// token, and how many of the 20 greedy tokens agree, per case; bounds below.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "core/sha256.h"
#include "io/safetensors.h"
#include "ivl/engine.h"
#include "model/vision/internvit.h"
#include "prompt/reference_cases.h"
#include "runtime/engine_impl.h"
#include "runtime/image_pipeline.h"
#include "support/fixtures.h"

namespace ivl {
namespace {

std::string base_model(const std::string& m) {
  return m.ends_with("-hf") ? m.substr(0, m.size() - 3) : m;
}

std::vector<float> read_f32(const io::SafetensorsFile& f, const std::string& name) {
  const TensorView* v = f.find(name);
  if (v == nullptr) throw std::runtime_error("reference tensor missing: " + name);
  std::vector<float> out(static_cast<size_t>(v->numel()));
  std::memcpy(out.data(), v->data, out.size() * 4);
  return out;
}

double relative_error(const std::vector<float>& got, const std::vector<float>& ref) {
  if (got.size() != ref.size()) return INFINITY;
  double max_ref = 0, max_diff = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(ref[i])));
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(got[i]) - ref[i]));
  }
  return max_diff / std::max(max_ref, 1e-30);
}

Request request_for(const test::ReferenceCase& c) {
  Request req;
  req.prompt = c.turns.question;
  req.history = c.turns.history;
  if (c.expected.contains("images") && c.expected["images"].is_array()) {
    for (const auto& name : c.expected["images"]) {
      req.images.push_back({.path = test::fixture("images/" + name.get<std::string>()).string()});
    }
    req.max_tiles = c.expected["max_num"][0].get<int>();
  }
  req.sampling.max_new_tokens = 20;
  req.sampling.ignore_eos = true;
  return req;
}

// Image features and last logits through the engine's own pieces, for the tolerance checks.
struct Internals {
  std::vector<float> features, logits;
};

Internals compute_internals(const runtime::EngineImpl& e, const Request& req, const Response& r) {
  Internals out;
  const io::ModelConfig& config = e.model().config;
  std::vector<float> pixels;
  int64_t tiles = 0;
  for (const ImageInput& img : req.images) {
    auto p = runtime::prepare_image(img, config, req.max_tiles, e.options().max_image_pixels);
    if (!p.ok()) throw std::runtime_error(p.status().to_string());
    pixels.insert(pixels.end(), p->pixels.begin(), p->pixels.end());
    tiles += p->tiles;
  }
  if (tiles > 0)
    out.features =
        model::image_features(config, e.weights(), pixels.data(), tiles, e.pool(), nullptr);
  const int64_t h = e.decoder().spec().hidden_size, n = static_cast<int64_t>(r.prompt_ids.size());
  std::vector<float> x(static_cast<size_t>(n * h));
  e.decoder().embed(r.prompt_ids, x.data());
  int64_t row = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (r.prompt_ids[static_cast<size_t>(i)] == e.special().image_context) {
      std::copy(out.features.begin() + row * h, out.features.begin() + (row + 1) * h,
                x.begin() + i * h);
      ++row;
    }
  }
  model::KvCache cache = e.decoder().make_cache(n);
  out.logits.resize(static_cast<size_t>(e.decoder().spec().vocab_size));
  e.decoder().forward(x.data(), n, cache, out.logits.data(), e.pool(), nullptr);
  return out;
}

class EngineReference : public ::testing::TestWithParam<std::tuple<std::string, WeightFormat>> {};

TEST_P(EngineReference, EveryCase) {
  const auto& [model, format] = GetParam();
  const std::string ref_name = base_model(model);
  auto engine = Engine::load({.model_dir = test::fixture("models/" + model).string(),
                              .llm_weights = format,
                              .vision_weights = format,
                              .threads = 2});
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  auto ref =
      io::SafetensorsFile::open(test::fixture("reference/" + ref_name + ".safetensors").string());
  ASSERT_TRUE(ref.ok());
  auto session = (*engine)->new_session();
  const auto* impl = dynamic_cast<const runtime::EngineImpl*>(engine->get());
  ASSERT_NE(impl, nullptr);
  for (const auto& c : test::reference_cases(ref_name)) {
    SCOPED_TRACE(model + " / " + c.name);
    Request req = request_for(c);
    auto r = session->generate(req);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    const auto& e = c.expected;
    EXPECT_EQ(r->tiles_per_image, c.num_patches);
    ASSERT_EQ(static_cast<int64_t>(r->prompt_ids.size()), e["input_ids_len"].get<int64_t>());
    std::vector<int64_t> wide(r->prompt_ids.begin(), r->prompt_ids.end());
    EXPECT_EQ(sha256_hex(std::as_bytes(std::span<const int64_t>(wide))),
              e["input_ids_sha256"].get<std::string>());
    EXPECT_EQ(r->generated_ids, e["greedy_20"].get<std::vector<int32_t>>());
    EXPECT_EQ(r->finish_reason, FinishReason::kLength);

    Internals in = compute_internals(*impl, req, *r);
    const double logit_err = relative_error(in.logits, read_f32(**ref, c.name + "__last_logits"));
    double feature_err = 0;
    if (!req.images.empty())
      feature_err = relative_error(in.features, read_f32(**ref, c.name + "__image_features"));
    if (format == WeightFormat::kF32) {
      EXPECT_LT(logit_err, 1e-4);
      EXPECT_LT(feature_err, 1e-4);
    }
    EXPECT_EQ(std::max_element(in.logits.begin(), in.logits.end()) - in.logits.begin(),
              e["last_logits_argmax"].get<int64_t>());
    std::printf("[ deviation ] %-28s %-6s %-16s features %.2e  logits %.2e\n", model.c_str(),
                weight_format_name(format), c.name.c_str(), feature_err, logit_err);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllModels, EngineReference,
    ::testing::Combine(::testing::Values("tiny-internvl3-qwen2", "tiny-internvl3-qwen2-hf",
                                         "tiny-internvl35-qwen3-v", "tiny-internvl35-qwen3-v-hf"),
                       ::testing::Values(WeightFormat::kF32, WeightFormat::kStored)),
    [](const auto& param_info) {
      std::string name = std::get<0>(param_info.param);
      std::replace(name.begin(), name.end(), '-', '_');
      return name + "_" + weight_format_name(std::get<1>(param_info.param));
    });

// KL(p_ref || p_got) of the softmax distributions of two logit vectors, in nats.
double kl_divergence(const std::vector<float>& ref, const std::vector<float>& got) {
  auto log_softmax = [](const std::vector<float>& l) {
    const double mx = *std::max_element(l.begin(), l.end());
    double sum = 0;
    for (float v : l) sum += std::exp(v - mx);
    std::vector<double> out(l.size());
    for (size_t i = 0; i < l.size(); ++i) out[i] = l[i] - mx - std::log(sum);
    return out;
  };
  const std::vector<double> lp = log_softmax(ref), lq = log_softmax(got);
  double kl = 0;
  for (size_t i = 0; i < lp.size(); ++i) kl += std::exp(lp[i]) * (lp[i] - lq[i]);
  return kl;
}

class QuantAccuracy : public ::testing::TestWithParam<std::tuple<std::string, WeightFormat>> {};

// Bounds, per model (6 cases). The fixture models have random weights, so the top two tokens
// of a greedy step are sometimes nearly tied: the reference's greedy paths hold steps whose
// top-2 log-probability gap is 0.005 nat. A greedy continuation may then flip at a perturbation
// of that size, which is why the fixture README asks lower precisions for "greedy output mostly
// identical". The gaps along each reference path come from the float32 engine, whose greedy
// tokens equal the reference's (EngineReference; checked again here).
// bf16 (the official inference precision): every greedy token identical.
// auto (the default: bf16 LLM, q8_0 vision tower): every greedy token identical, mean KL < 5e-5
//   (measured 2e-6 / 1e-5) — the measurement behind that default (model/runtime_weights.h).
// q8_0: mean KL < 1e-4 nat, and all 20 greedy tokens identical except where the reference's
//   own top-2 gap at the first differing step is below kNearTie (the first greedy token is the
//   top-1 at the last prompt position, so this covers top-1 too: the qwen2 model's multi-turn
//   case starts with a 0.0037-nat tie, which the sanitizer build's different float summation
//   order resolves the other way): a near-tie, where 8-bit rounding of weights and activations may
//   pick either token (measured at the last prompt position, q8_0 moves the largest logit by
//   ~0.03 nat: 1.2-1.6e-2 of max|logit| 1.8 for qwen2, 5-6e-3 of 5.0 for qwen3).
// q4_0: mean KL < 2e-2 nat; top-1 and greedy agreement are reported (docs/performance.md).
constexpr double kNearTie = 0.02;  // nat
struct Bounds {
  double max_mean_kl;
  int min_top1;  // of 6
  bool greedy_identical_except_near_ties;
  int min_greedy_identical;
};
Bounds bounds_for(WeightFormat f) {
  switch (f) {
    case WeightFormat::kBF16:
      return {1e-5, 6, false, 6};
    case WeightFormat::kAuto:
      return {5e-5, 6, false, 6};
    case WeightFormat::kQ8_0:
      return {1e-4, 0, true, 0};
    default:
      return {2e-2, 0, false, 0};
  }
}

// Per case, the top-2 log-probability gap at each of the 20 reference greedy steps, from the
// float32 engine (loaded once per model).
const std::map<std::string, std::vector<double>>& reference_gaps(const std::string& model) {
  static std::map<std::string, std::map<std::string, std::vector<double>>> cache;
  auto it = cache.find(model);
  if (it != cache.end()) return it->second;
  auto& gaps = cache[model];
  auto engine = Engine::load({.model_dir = test::fixture("models/" + model).string(),
                              .llm_weights = WeightFormat::kF32,
                              .vision_weights = WeightFormat::kF32,
                              .threads = 2});
  if (!engine.ok()) throw std::runtime_error(engine.status().to_string());
  auto session = (*engine)->new_session();
  for (const auto& c : test::reference_cases(model)) {
    Request req = request_for(c);
    req.sampling.logprobs = 2;
    auto r = session->generate(req);
    if (!r.ok()) throw std::runtime_error(r.status().to_string());
    if (r->generated_ids != c.expected["greedy_20"].get<std::vector<int32_t>>())
      throw std::runtime_error(c.name + ": float32 greedy tokens differ from the reference");
    for (const GeneratedToken& t : r->tokens)
      gaps[c.name].push_back(double(t.top.at(0).logprob) - t.top.at(1).logprob);
  }
  return gaps;
}

TEST_P(QuantAccuracy, AgainstFloat32Reference) {
  const auto& [model, format] = GetParam();
  auto engine = Engine::load({.model_dir = test::fixture("models/" + model).string(),
                              .llm_weights = format,
                              .vision_weights = format,
                              .threads = 2});
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  auto ref =
      io::SafetensorsFile::open(test::fixture("reference/" + model + ".safetensors").string());
  ASSERT_TRUE(ref.ok());
  auto session = (*engine)->new_session();
  const auto* impl = dynamic_cast<const runtime::EngineImpl*>(engine->get());
  ASSERT_NE(impl, nullptr);
  const Bounds b = bounds_for(format);
  // The float32 engine's pass over every case, only for the bound that reads it.
  const std::map<std::string, std::vector<double>>* gaps =
      b.greedy_identical_except_near_ties ? &reference_gaps(model) : nullptr;
  double kl_sum = 0;
  int cases = 0, top1 = 0, greedy_equal = 0, beyond_near_tie = 0;
  for (const auto& c : test::reference_cases(model)) {
    SCOPED_TRACE(model + " / " + c.name);
    Request req = request_for(c);
    auto r = session->generate(req);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    const auto expected = c.expected["greedy_20"].get<std::vector<int32_t>>();
    size_t same = 0;
    while (same < expected.size() && same < r->generated_ids.size() &&
           r->generated_ids[same] == expected[same])
      ++same;
    Internals in = compute_internals(*impl, req, *r);
    const std::vector<float> ref_logits = read_f32(**ref, c.name + "__last_logits");
    const double kl = kl_divergence(ref_logits, in.logits);
    const bool agree = std::max_element(in.logits.begin(), in.logits.end()) - in.logits.begin() ==
                       c.expected["last_logits_argmax"].get<int64_t>();
    double feature_err = 0;
    if (!req.images.empty())
      feature_err = relative_error(in.features, read_f32(**ref, c.name + "__image_features"));
    kl_sum += kl;
    top1 += agree;
    greedy_equal += same == expected.size();
    ++cases;
    // The reference's top-2 gap at the first differing step (none when all 20 agree).
    const double gap =
        gaps != nullptr && same < expected.size() ? gaps->at(c.name).at(same) : INFINITY;
    beyond_near_tie += gap >= kNearTie && same < expected.size();
    std::printf(
        "[ accuracy  ] %-24s %-5s %-16s KL %.2e  top-1 %s  greedy %2zu/20  features %.2e  "
        "logits %.2e",
        model.c_str(), weight_format_name(format), c.name.c_str(), kl, agree ? "same" : "DIFF",
        same, feature_err, relative_error(in.logits, ref_logits));
    if (gaps != nullptr && same < expected.size())
      std::printf("  (reference gap there %.4f nat)", gap);
    std::printf("\n");
  }
  ASSERT_GT(cases, 0);
  const double mean_kl = kl_sum / cases;
  std::printf("[ accuracy  ] %-24s %-5s mean KL %.2e  top-1 %d/%d  greedy identical %d/%d\n",
              model.c_str(), weight_format_name(format), mean_kl, top1, cases, greedy_equal, cases);
  EXPECT_EQ(cases, 6);
  EXPECT_LT(mean_kl, b.max_mean_kl);
  EXPECT_GE(top1, b.min_top1);
  EXPECT_GE(greedy_equal, b.min_greedy_identical);
  if (b.greedy_identical_except_near_ties) {
    EXPECT_EQ(beyond_near_tie, 0) << "greedy tokens differ where the reference was not near a tie";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Formats, QuantAccuracy,
    ::testing::Combine(::testing::Values("tiny-internvl3-qwen2", "tiny-internvl35-qwen3-v"),
                       ::testing::Values(WeightFormat::kAuto, WeightFormat::kBF16,
                                         WeightFormat::kQ8_0, WeightFormat::kQ4_0)),
    [](const auto& param_info) {
      std::string name = std::get<0>(param_info.param);
      std::replace(name.begin(), name.end(), '-', '_');
      return name + "_" + weight_format_name(std::get<1>(param_info.param));
    });

}  // namespace
}  // namespace ivl
