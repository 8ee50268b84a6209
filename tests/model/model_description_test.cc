#include "model/model_description.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "io/safetensors_writer.h"
#include "support/fixtures.h"

namespace ivl::model {
namespace {

namespace fs = std::filesystem;

ModelDescription open_fixture(const std::string& name) {
  auto d = open_model_description(test::fixture("models/" + name));
  if (!d.ok()) throw std::runtime_error(name + ": " + d.status().to_string());
  return std::move(d).value();
}

TEST(ModelDescription, OpensEveryFixtureAndUsesEveryTensor) {
  for (const auto& name : test::fixture_model_names()) {
    ModelDescription d = open_fixture(name);
    EXPECT_TRUE(d.unused_tensors.empty()) << name << ": first unused " << d.unused_tensors[0];
    EXPECT_EQ(d.weights.size(),
              d.checkpoint->tensor_count() +
                  /* fused qkv split into 3 (weight and bias) */
                  (d.config.layout == io::CheckpointLayout::kOriginal
                       ? 2 * d.config.vision.num_layers * (d.config.vision.qkv_bias ? 2 : 1)
                       : 0))
        << name;
  }
}

TEST(ModelDescription, Qwen2FixtureIsTiedQwen3IsNot) {
  ModelDescription q2 = open_fixture("tiny-internvl3-qwen2");
  EXPECT_EQ(q2.llm.backbone, "qwen2");
  EXPECT_TRUE(q2.llm.qkv_bias);
  EXPECT_FALSE(q2.llm.qk_norm);
  EXPECT_TRUE(q2.tied_head());
  ModelDescription q2hf = open_fixture("tiny-internvl3-qwen2-hf");
  EXPECT_TRUE(q2hf.tied_head()) << "no lm_head.weight in the file, whatever the config flag says";

  ModelDescription q3 = open_fixture("tiny-internvl35-qwen3-v");
  EXPECT_EQ(q3.llm.backbone, "qwen3");
  EXPECT_FALSE(q3.llm.qkv_bias);
  EXPECT_TRUE(q3.llm.qk_norm);
  EXPECT_EQ(q3.llm.head_dim, 16);
  EXPECT_EQ(q3.llm.q_dim(), 64);
  EXPECT_FALSE(q3.tied_head());
  const WeightRef* head = q3.weights.find("llm.head.weight");
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->shape, (Shape{151936, 48}));
}

// Both layouts must resolve to the same internal table, byte for byte: this checks the
// original layout's fused-qkv split against the native layout's separate q/k/v tensors.
TEST(ModelDescription, BothLayoutsGiveTheSameWeightTable) {
  for (const std::string base : {"tiny-internvl3-qwen2", "tiny-internvl35-qwen3-v"}) {
    ModelDescription a = open_fixture(base);
    ModelDescription b = open_fixture(base + "-hf");
    ASSERT_EQ(a.weights.size(), b.weights.size()) << base;
    for (const auto& [name, ref] : a.weights.all()) {
      const WeightRef* other = b.weights.find(name);
      ASSERT_NE(other, nullptr) << base << ": " << name;
      EXPECT_EQ(ref.shape, other->shape) << name;
      EXPECT_EQ(ref.dtype(), other->dtype()) << name;
      EXPECT_TRUE(ref.gather_bytes() == other->gather_bytes()) << base << ": " << name;
    }
    EXPECT_EQ(a.weights.count_params("vit."), b.weights.count_params("vit."));
  }
}

TEST(ModelDescription, CanonicalNamesAndContiguousViews) {
  ModelDescription d = open_fixture("tiny-internvl3-qwen2");
  for (const char* name :
       {"vit.cls_token", "vit.pos_embed", "vit.L1.attn.k.bias", "vit.L0.ls2", "proj.norm.weight",
        "proj.fc2.bias", "llm.embed.weight", "llm.L1.attn.v.bias", "llm.L0.mlp.down.weight",
        "llm.final_norm.weight"}) {
    EXPECT_TRUE(d.weights.contains(name)) << name;
  }
  const WeightRef* k = d.weights.find("vit.L0.attn.k.weight");
  ASSERT_NE(k, nullptr);
  ASSERT_TRUE(k->contiguous());
  TensorView v = k->view();
  EXPECT_EQ(v.shape, (Shape{64, 64}));
  EXPECT_EQ(v.data, k->source.data + 64 * 64 * 2) << "k starts after the C rows of q (bf16)";
  // Parameter count of the LLM: embedding + 2 layers + final norm (tied head counted once).
  const int64_t h = 64, ffn = 128, kv = 32;
  const int64_t layer = h + (h * h + h) + 2 * (kv * h + kv) + h * h + h + 3 * h * ffn;
  EXPECT_EQ(d.weights.count_params("llm."), 151674 * h + 2 * layer + h);
}

// A checkpoint whose tensors disagree with config.json: every problem in one message.
TEST(ModelDescription, ReportsAllMissingAndMisshapedTensorsAtOnce) {
  const fs::path src = test::fixture("models/tiny-internvl35-qwen3-v-hf");
  const fs::path dir = test::scratch_dir("model_description_broken");
  for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json"})
    fs::copy(src / f, dir / f);
  auto ckpt = io::Checkpoint::open(src);
  ASSERT_TRUE(ckpt.ok());
  std::vector<io::TensorToWrite> tensors;
  for (const std::string& name : (*ckpt)->names()) {
    if (name == "model.vision_tower.encoder.layer.1.lambda_1" ||
        name == "model.language_model.layers.0.self_attn.q_norm.weight") {
      continue;  // dropped
    }
    const TensorView* v = (*ckpt)->find(name);
    io::TensorToWrite t{name, v->dtype, v->shape, {v->bytes().begin(), v->bytes().end()}};
    if (name == "model.multi_modal_projector.linear_1.weight") t.shape = {128, 48};  // transposed
    tensors.push_back(std::move(t));
  }
  ASSERT_TRUE(io::write_safetensors((dir / "model.safetensors").string(), tensors).ok());
  auto d = open_model_description(dir);
  ASSERT_FALSE(d.ok());
  const std::string& m = d.status().message();
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.find("missing tensors (2)"), std::string::npos) << m;
  EXPECT_NE(m.find("layer.1.lambda_1"), std::string::npos) << m;
  EXPECT_NE(m.find("layers.0.self_attn.q_norm.weight"), std::string::npos) << m;
  EXPECT_NE(m.find("linear_1.weight in model.safetensors: expected [48, 128], found [128, 48]"),
            std::string::npos)
      << m;
}

TEST(ModelDescription, NonFloatTensorsAreUnsupported) {
  const fs::path src = test::fixture("models/tiny-internvl35-qwen3-v-hf");
  const fs::path dir = test::scratch_dir("model_description_int");
  fs::copy(src / "config.json", dir / "config.json");
  auto ckpt = io::Checkpoint::open(src);
  ASSERT_TRUE(ckpt.ok());
  std::vector<io::TensorToWrite> tensors;
  for (const std::string& name : (*ckpt)->names()) {
    const TensorView* v = (*ckpt)->find(name);
    io::TensorToWrite t{name, v->dtype, v->shape, {v->bytes().begin(), v->bytes().end()}};
    if (name == "lm_head.weight") t.dtype = DType::kI16;  // same byte size, wrong kind
    tensors.push_back(std::move(t));
  }
  ASSERT_TRUE(io::write_safetensors((dir / "model.safetensors").string(), tensors).ok());
  auto d = open_model_description(dir);
  EXPECT_EQ(d.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(d.status().message().find("lm_head.weight is I16"), std::string::npos)
      << d.status().message();
}

TEST(ModelDescription, LayoutPrefixesForLlmNames) {
  using io::CheckpointLayout;
  EXPECT_EQ(llm_source_names(CheckpointLayout::kOriginal, "model.norm.weight"),
            std::vector<std::string>{"language_model.model.norm.weight"});
  EXPECT_EQ(llm_source_names(CheckpointLayout::kNative, "model.norm.weight"),
            (std::vector<std::string>{"model.language_model.norm.weight",
                                      "language_model.model.norm.weight"}));
  EXPECT_EQ(llm_source_names(CheckpointLayout::kNative, "lm_head.weight"),
            (std::vector<std::string>{"lm_head.weight", "language_model.lm_head.weight"}));
}

}  // namespace
}  // namespace ivl::model
