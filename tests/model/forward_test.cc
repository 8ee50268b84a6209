// The model's maths against the reference layer taps of the `single_square` case and the
// reference logits / greedy tokens of the text-only case (transformers, float32, CPU).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "io/safetensors.h"
#include "model/llm/decoder.h"
#include "model/model_description.h"
#include "model/runtime_weights.h"
#include "model/vision/internvit.h"
#include "prompt/chat_template.h"
#include "prompt/conversation.h"
#include "support/fixtures.h"
#include "tokenizer/tokenizer.h"

namespace ivl::model {
namespace {

struct CollectingSink : TapSink {
  std::map<std::string, std::vector<float>> taps;
  void on_tap(std::string_view name, std::span<const float> data, int64_t, int64_t) override {
    taps[std::string(name)] = std::vector<float>(data.begin(), data.end());
  }
};

std::vector<float> read_f32(const io::SafetensorsFile& f, const std::string& name) {
  const TensorView* v = f.find(name);
  if (v == nullptr || v->dtype != DType::kF32)
    throw std::runtime_error("reference tensor missing: " + name);
  std::vector<float> out(static_cast<size_t>(v->numel()));
  std::memcpy(out.data(), v->data, out.size() * 4);
  return out;
}

// max |a - b| relative to max |ref|: the fixture README's tolerance measure.
double relative_error(const std::vector<float>& got, const std::vector<float>& ref) {
  double max_ref = 0, max_diff = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(ref[i])));
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(got[i]) - ref[i]));
  }
  return max_diff / std::max(max_ref, 1e-30);
}

struct Loaded {
  ModelDescription desc;
  std::unique_ptr<RuntimeWeights> weights;
  std::unique_ptr<tok::Tokenizer> tokenizer;
};

Loaded load(const std::string& name, WeightFormat format) {
  auto d = open_model_description(test::fixture("models/" + name));
  if (!d.ok()) throw std::runtime_error(d.status().to_string());
  Loaded l{std::move(d).value(), nullptr, nullptr};
  auto w = build_runtime_weights(l.desc, {.llm = format, .vision = format});
  if (!w.ok()) throw std::runtime_error(w.status().to_string());
  l.weights = std::move(w).value();
  auto t = tok::load_tokenizer(l.desc.dir);
  if (!t.ok()) throw std::runtime_error(t.status().to_string());
  l.tokenizer = std::move(t).value();
  return l;
}

std::vector<int32_t> prompt_ids(const Loaded& l, const prompt::ChatTurns& turns,
                                std::vector<int64_t> tiles) {
  auto tmpl = *prompt::find_chat_template(l.desc.config.template_name);
  auto text = *prompt::render_conversation(*tmpl, prompt::conversation_from_chat(turns));
  return l.tokenizer->encode(*prompt::expand_image_placeholders(text, tiles, 256));
}

int32_t argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Greedy continuation of 20 tokens, no EOS stop (the reference's greedy_20).
std::vector<int32_t> greedy20(const Decoder& dec, KvCache& cache, std::vector<float> logits,
                              ThreadPool* pool) {
  std::vector<int32_t> out;
  std::vector<float> x(static_cast<size_t>(dec.spec().hidden_size));
  for (int i = 0; i < 20; ++i) {
    int32_t next = argmax(logits);
    out.push_back(next);
    if (i == 19) break;
    dec.embed(std::span<const int32_t>(&next, 1), x.data());
    dec.forward(x.data(), 1, cache, logits.data(), pool, nullptr);
  }
  return out;
}

class ForwardTest : public ::testing::TestWithParam<std::tuple<std::string, WeightFormat>> {};

// The reference name of a fixture model: the -hf layout shares the original's references.
std::string reference_name(const std::string& model) {
  return model.ends_with("-hf") ? model.substr(0, model.size() - 3) : model;
}

// The reference taps of the single_square case (pixel values, every layer's output).
std::unique_ptr<io::SafetensorsFile> open_square_taps(const std::string& model) {
  auto f = io::SafetensorsFile::open(
      test::fixture("reference/" + reference_name(model) + "__taps_single_square.safetensors")
          .string());
  if (!f.ok()) throw std::runtime_error(f.status().to_string());
  return std::move(f).value();
}

TEST_P(ForwardTest, SingleSquareLayerByLayer) {
  const auto& [model, precision] = GetParam();
  const std::string ref_name = reference_name(model);
  Loaded l = load(model, precision);
  const std::unique_ptr<io::SafetensorsFile> taps_file = open_square_taps(model);
  const io::SafetensorsFile& ref = *taps_file;
  ThreadPool pool(2);
  CollectingSink sink;

  std::vector<float> px = read_f32(ref, "pixel_values");
  std::vector<float> features =
      image_features(l.desc.config, *l.weights, px.data(), 1, &pool, &sink);
  for (const auto& [name, got] : sink.taps) {
    std::vector<float> want = read_f32(ref, name);
    ASSERT_EQ(got.size(), want.size()) << name;
    EXPECT_LT(relative_error(got, want), 1e-4) << model << " " << name;
  }

  // Splice the visual rows at <IMG_CONTEXT> and run the LLM.
  std::vector<int32_t> ids =
      prompt_ids(l, {.question = "Describe this image in detail.", .num_images = 1}, {1});
  auto decoder = Decoder::create(l.desc.llm, l.weights->llm);
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  const int64_t h = l.desc.llm.hidden_size, n = static_cast<int64_t>(ids.size());
  std::vector<float> x(static_cast<size_t>(n * h));
  decoder->embed(ids, x.data());
  const int32_t ctx = *l.tokenizer->token_to_id("<IMG_CONTEXT>");
  int64_t row = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (ids[static_cast<size_t>(i)] == ctx) {
      std::copy(features.begin() + row * h, features.begin() + (row + 1) * h, x.begin() + i * h);
      ++row;
    }
  }
  ASSERT_EQ(row * h, static_cast<int64_t>(features.size()));
  EXPECT_LT(relative_error(x, read_f32(ref, "llm.inputs_embeds")), 1e-4);
  KvCache cache = decoder->make_cache(n + 20);
  std::vector<float> logits(static_cast<size_t>(l.desc.llm.vocab_size));
  sink.taps.clear();
  decoder->forward(x.data(), n, cache, logits.data(), &pool, &sink);
  for (const auto& [name, got] : sink.taps) {
    if (ref.find(name) == nullptr) continue;  // the reference omits the last layer's output
    EXPECT_LT(relative_error(got, read_f32(ref, name)), 1e-4) << model << " " << name;
  }
  nlohmann::json cases =
      test::read_json_file(test::fixture("reference/" + ref_name + ".json"))["cases"];
  EXPECT_EQ(greedy20(*decoder, cache, logits, &pool),
            cases["single_square"]["greedy_20"].get<std::vector<int32_t>>());
}

TEST_P(ForwardTest, TextOnlyLogitsAndGreedy) {
  const auto& [model, precision] = GetParam();
  const std::string ref_name = reference_name(model);
  Loaded l = load(model, precision);
  auto ref =
      io::SafetensorsFile::open(test::fixture("reference/" + ref_name + ".safetensors").string());
  ASSERT_TRUE(ref.ok());
  std::vector<int32_t> ids = prompt_ids(l, {.question = "Who are you? Answer in one word."}, {});
  auto decoder = Decoder::create(l.desc.llm, l.weights->llm);
  ASSERT_TRUE(decoder.ok());
  const int64_t n = static_cast<int64_t>(ids.size());
  std::vector<float> x(static_cast<size_t>(n * l.desc.llm.hidden_size));
  decoder->embed(ids, x.data());
  KvCache cache = decoder->make_cache(n + 20);
  std::vector<float> logits(static_cast<size_t>(l.desc.llm.vocab_size));
  ThreadPool pool(2);
  decoder->forward(x.data(), n, cache, logits.data(), &pool, nullptr);
  EXPECT_LT(relative_error(logits, read_f32(**ref, "text_only__last_logits")), 1e-4);
  nlohmann::json cases =
      test::read_json_file(test::fixture("reference/" + ref_name + ".json"))["cases"];
  EXPECT_EQ(greedy20(*decoder, cache, logits, &pool),
            cases["text_only"]["greedy_20"].get<std::vector<int32_t>>());
}

// image_features encodes the tiles of a request one batch of kTilesPerBatch at a time (to bound
// activation memory); with taps it takes them all in one batch. Both must give the same rows.
TEST_P(ForwardTest, TileBatchesGiveTheRowsOfOneBatch) {
  const auto& [model, precision] = GetParam();
  Loaded l = load(model, precision);
  // Three different tiles: the reference tile, its mirror image in value, and a dimmed copy.
  const std::vector<float> tile = read_f32(*open_square_taps(model), "pixel_values");
  std::vector<float> px = tile;
  for (float v : tile) px.push_back(-v);
  for (float v : tile) px.push_back(0.5f * v);
  constexpr int64_t kTiles = 3;
  static_assert(kTiles > kTilesPerBatch);
  ThreadPool pool(2);
  CollectingSink sink;
  const std::vector<float> batched =
      image_features(l.desc.config, *l.weights, px.data(), kTiles, &pool, nullptr);
  const std::vector<float> whole =
      image_features(l.desc.config, *l.weights, px.data(), kTiles, &pool, &sink);
  ASSERT_EQ(batched.size(), whole.size());
  EXPECT_EQ(batched, whole) << "max relative difference " << relative_error(batched, whole);
  // The tiles differ, so a batch that repeated one tile's rows would not pass.
  const size_t per_tile = whole.size() / kTiles;
  EXPECT_FALSE(std::equal(whole.begin(), whole.begin() + per_tile, whole.begin() + per_tile));
}

INSTANTIATE_TEST_SUITE_P(
    AllModels, ForwardTest,
    ::testing::Combine(::testing::Values("tiny-internvl3-qwen2", "tiny-internvl3-qwen2-hf",
                                         "tiny-internvl35-qwen3-v", "tiny-internvl35-qwen3-v-hf"),
                       ::testing::Values(WeightFormat::kStored, WeightFormat::kF32)),
    [](const auto& param_info) {
      std::string name = std::get<0>(param_info.param);
      std::replace(name.begin(), name.end(), '-', '_');
      return name + (std::get<1>(param_info.param) == WeightFormat::kF32 ? "_f32" : "_stored");
    });

}  // namespace
}  // namespace ivl::model
