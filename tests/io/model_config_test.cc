#include "io/model_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/fixtures.h"

namespace ivl::io {
namespace {

using nlohmann::json;

ModelConfig load_fixture(const std::string& name) {
  auto c = load_model_config(test::fixture("models/" + name));
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? *c : ModelConfig{};
}

TEST(ModelConfig, OriginalLayoutQwen2) {
  ModelConfig c = load_fixture("tiny-internvl3-qwen2");
  EXPECT_EQ(c.layout, CheckpointLayout::kOriginal);
  EXPECT_EQ(c.template_name, "internvl2_5");
  EXPECT_FALSE(c.template_inferred);
  EXPECT_EQ(c.vision.hidden_size, 64);
  EXPECT_EQ(c.vision.num_layers, 2);
  EXPECT_EQ(c.vision.num_heads, 4);
  EXPECT_EQ(c.vision.norm, VisionNorm::kLayerNorm);
  EXPECT_TRUE(c.vision.qkv_bias);
  EXPECT_FALSE(c.vision.qk_norm);
  EXPECT_EQ(c.text.architecture, "Qwen2ForCausalLM");
  EXPECT_EQ(c.text.hidden_size, 64);
  EXPECT_EQ(c.text.num_kv_heads, 2);
  EXPECT_EQ(c.text.vocab_size, 151674);
  EXPECT_EQ(c.text.rope.kind, RopeKind::kDefault);
  EXPECT_DOUBLE_EQ(c.text.rope.theta, 1e6);
  EXPECT_EQ(c.text.eos_token_ids, std::vector<int64_t>{151645});
  EXPECT_EQ(c.ps_version, "v2");
  EXPECT_EQ(c.select_layer, -1);
  EXPECT_EQ(c.image.max_dynamic_patch, 12);
  EXPECT_TRUE(c.image.use_thumbnail);
  EXPECT_EQ(c.num_image_tokens(), 256);
  EXPECT_FALSE(c.image_token_id.has_value());
}

TEST(ModelConfig, NativeLayoutQwen3) {
  ModelConfig c = load_fixture("tiny-internvl35-qwen3-v-hf");
  EXPECT_EQ(c.layout, CheckpointLayout::kNative);
  EXPECT_EQ(c.template_name, "internvl2_5");
  EXPECT_TRUE(c.template_inferred);
  EXPECT_EQ(c.vision.norm, VisionNorm::kRmsNorm);
  EXPECT_FALSE(c.vision.qkv_bias);
  EXPECT_TRUE(c.vision.qk_norm);
  EXPECT_EQ(c.vision.image_size, 448);
  EXPECT_EQ(c.vision.patch_size, 14);
  EXPECT_EQ(c.text.model_type, "qwen3");
  EXPECT_EQ(c.text.head_dim, 16);
  EXPECT_EQ(c.text.effective_head_dim(), 16);
  EXPECT_DOUBLE_EQ(c.text.rope.theta, 1e6);
  EXPECT_EQ(c.image_token_id, 151671);
  EXPECT_EQ(c.ps_version, "v2");
  EXPECT_EQ(c.num_image_tokens(), 256);
}

TEST(ModelConfig, BothLayoutsAgreeOnTheModel) {
  for (const auto& base :
       {std::string("tiny-internvl3-qwen2"), std::string("tiny-internvl35-qwen3-v")}) {
    ModelConfig a = load_fixture(base);
    ModelConfig b = load_fixture(base + "-hf");
    EXPECT_EQ(a.vision.hidden_size, b.vision.hidden_size) << base;
    EXPECT_EQ(a.vision.intermediate_size, b.vision.intermediate_size) << base;
    EXPECT_EQ(a.vision.norm, b.vision.norm) << base;
    EXPECT_EQ(a.vision.qkv_bias, b.vision.qkv_bias) << base;
    EXPECT_EQ(a.vision.qk_norm, b.vision.qk_norm) << base;
    EXPECT_EQ(a.text.num_layers, b.text.num_layers) << base;
    EXPECT_EQ(a.text.effective_head_dim(), b.text.effective_head_dim()) << base;
    EXPECT_EQ(a.text.vocab_size, b.text.vocab_size) << base;
    EXPECT_EQ(a.template_name, b.template_name) << base;
    EXPECT_EQ(a.image.max_dynamic_patch, b.image.max_dynamic_patch) << base;
  }
}

json minimal_original() {
  return json::parse(R"({
    "architectures": ["InternVLChatModel"], "template": "internvl2_5",
    "vision_config": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                      "intermediate_size": 256, "image_size": 448, "patch_size": 14,
                      "norm_type": "layer_norm", "qkv_bias": true, "qk_normalization": false},
    "llm_config": {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
                   "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                   "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 1000,
                   "rope_theta": 1000000.0}
  })");
}

Status parse_error(const json& j) {
  auto r = parse_model_config(j, "config.json");
  return r.ok() ? Status() : r.status();
}

TEST(ModelConfig, OriginalDefaultsWhenKeysAreAbsent) {
  auto c = parse_model_config(minimal_original(), "config.json");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->ps_version, "v1");  // InternVLChatConfig's default (spec §4)
  EXPECT_EQ(c->select_layer, -1);
  EXPECT_DOUBLE_EQ(c->downsample_ratio, 0.5);
  EXPECT_EQ(c->image.max_dynamic_patch, 6);
  EXPECT_FALSE(c->image.use_thumbnail);
  EXPECT_FALSE(c->system_message.has_value());
}

TEST(ModelConfig, RopeScalingLegacyAndParameters) {
  json j = minimal_original();
  j["llm_config"]["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};
  auto c = parse_model_config(j, "config.json");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->text.rope.kind, RopeKind::kDynamic);
  EXPECT_DOUBLE_EQ(c->text.rope.factor, 2.0);

  j["llm_config"].erase("rope_scaling");
  j["llm_config"]["rope_parameters"] = {
      {"rope_type", "linear"}, {"factor", 4.0}, {"rope_theta", 5e5}};
  c = parse_model_config(j, "config.json");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->text.rope.kind, RopeKind::kLinear);
  EXPECT_DOUBLE_EQ(c->text.rope.theta, 5e5);

  j["llm_config"]["rope_parameters"]["rope_type"] = "mystery";
  Status s = parse_error(j);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("mystery"), std::string::npos);
  EXPECT_NE(s.message().find("dynamic"), std::string::npos) << "lists the supported kinds";
}

TEST(ModelConfig, ReportsEveryBadFieldAtOnce) {
  json j = minimal_original();
  j["vision_config"].erase("hidden_size");
  j["llm_config"]["num_attention_heads"] = "four";
  j["llm_config"]["vocab_size"] = -5;
  Status s = parse_error(j);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("vision_config.hidden_size: missing"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("llm_config.num_attention_heads"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("llm_config.vocab_size"), std::string::npos) << s.message();
}

TEST(ModelConfig, RejectsContradictions) {
  json j = minimal_original();
  j["llm_config"]["num_key_value_heads"] = 3;  // 4 heads not a multiple of 3
  EXPECT_NE(parse_error(j).message().find("multiple of num_key_value_heads"), std::string::npos);

  j = minimal_original();
  j["vision_config"]["num_attention_heads"] = 5;  // 64 % 5 != 0
  EXPECT_EQ(parse_error(j).code(), StatusCode::kInvalidArgument);

  j = minimal_original();
  j["ps_version"] = "v3";
  EXPECT_NE(parse_error(j).message().find("ps_version"), std::string::npos);

  j = minimal_original();
  j["select_layer"] = -7;  // 2 layers: valid range [-3, 2]
  EXPECT_NE(parse_error(j).message().find("select_layer"), std::string::npos);

  j = minimal_original();
  j["downsample_ratio"] = 0.3;
  EXPECT_NE(parse_error(j).message().find("downsample_ratio"), std::string::npos);

  j = minimal_original();
  j["min_dynamic_patch"] = 8;
  j["max_dynamic_patch"] = 4;
  EXPECT_NE(parse_error(j).message().find("min_dynamic_patch"), std::string::npos);

  j = minimal_original();
  j.erase("template");
  EXPECT_NE(parse_error(j).message().find("template"), std::string::npos);
}

TEST(ModelConfig, UnsupportedArchitectureListsSupported) {
  json j = minimal_original();
  j["architectures"] = {"LlavaForConditionalGeneration"};
  Status s = parse_error(j);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("InternVLChatModel"), std::string::npos);
  EXPECT_NE(s.message().find("InternVLForConditionalGeneration"), std::string::npos);

  j = minimal_original();
  j["vision_config"]["norm_type"] = "batch_norm";
  s = parse_error(j);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("layer_norm, rms_norm"), std::string::npos);
}

TEST(ModelConfig, NotAnObject) {
  EXPECT_EQ(parse_error(json::array()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_error(json("text")).code(), StatusCode::kInvalidArgument);
}

TEST(ModelConfig, FilesOnDisk) {
  auto dir = test::scratch_dir("model_config_files");
  auto missing = load_model_config(dir);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("config.json"), std::string::npos);

  std::ofstream(dir / "config.json") << "{\"architectures\": [";
  auto bad = load_model_config(dir);
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(bad.status().message().find("config.json"), std::string::npos);

  std::ofstream(dir / "config.json") << R"({"template": "internvl2_5", "template": "Hermes-2"})";
  auto dup = load_model_config(dir);
  EXPECT_EQ(dup.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(dup.status().message().find("duplicate key 'template'"), std::string::npos);

  std::ofstream(dir / "config.json") << R"({"vocab_size": 1e400})";
  EXPECT_EQ(load_model_config(dir).status().code(), StatusCode::kCorruptData);

  std::ofstream(dir / "config.json") << minimal_original().dump();
  std::ofstream(dir / "generation_config.json") << R"({"eos_token_id": [1, 2], "max_new_tokens": 64,
      "temperature": 0.6, "do_sample": true})";
  std::ofstream(dir / "preprocessor_config.json") << R"({"max_patches": 24,
      "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]})";
  auto ok = load_model_config(dir);
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  ASSERT_TRUE(ok->generation.has_value());
  EXPECT_EQ(ok->generation->eos_token_ids, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ok->generation->max_new_tokens, 64);
  EXPECT_EQ(ok->image.max_dynamic_patch, 24);
  EXPECT_DOUBLE_EQ(ok->image.mean[1], 0.5);

  std::ofstream(dir / "preprocessor_config.json") << R"({"image_std": [0.5, 0.0, 0.5]})";
  EXPECT_EQ(load_model_config(dir).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ivl::io
