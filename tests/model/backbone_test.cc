#include "model/llm/backbone.h"

#include <gtest/gtest.h>

namespace ivl::model {
namespace {

io::TextConfig config(std::string arch, std::string model_type,
                      nlohmann::json raw = nlohmann::json::object()) {
  io::TextConfig t;
  t.architecture = std::move(arch);
  t.model_type = std::move(model_type);
  t.hidden_size = 64;
  t.num_layers = 2;
  t.num_heads = 4;
  t.num_kv_heads = 2;
  t.intermediate_size = 128;
  t.vocab_size = 100;
  t.raw = std::move(raw);
  return t;
}

TEST(Backbone, RegistryByArchitectureAndModelType) {
  struct Case {
    const char* arch;
    const char* type;
    std::string_view expected;
  };
  for (const Case& c :
       {Case{"Qwen2ForCausalLM", "", "qwen2"}, Case{"Qwen3ForCausalLM", "", "qwen3"},
        Case{"InternLM2ForCausalLM", "", "internlm2"}, Case{"LlamaForCausalLM", "", "llama"},
        Case{"Phi3ForCausalLM", "", "phi3"}, Case{"", "qwen2", "qwen2"}, Case{"", "qwen3", "qwen3"},
        Case{"", "llama", "llama"}, Case{"", "phi3", "phi3"}}) {
    auto b = find_backbone(config(c.arch, c.type));
    ASSERT_TRUE(b.ok()) << c.arch << c.type;
    EXPECT_EQ((*b)->name, c.expected);
  }
}

TEST(Backbone, UnsupportedListsWhatIsSupported) {
  auto b = find_backbone(config("Qwen3MoeForCausalLM", "qwen3_moe"));
  EXPECT_EQ(b.status().code(), StatusCode::kUnsupported);
  for (const char* name : {"Qwen3MoeForCausalLM", "Qwen2ForCausalLM", "InternLM2ForCausalLM",
                           "Phi3ForCausalLM", "LlamaForCausalLM", "qwen3"}) {
    EXPECT_NE(b.status().message().find(name), std::string::npos) << name;
  }
  EXPECT_EQ(find_backbone(config("", "gpt_oss")).status().code(), StatusCode::kUnsupported);
}

TEST(Backbone, FamilySpecificConfigMapping) {
  auto q2 = kQwen2Backbone.make_spec(config("Qwen2ForCausalLM", "qwen2"));
  ASSERT_TRUE(q2.ok());
  EXPECT_TRUE(q2->qkv_bias);
  EXPECT_FALSE(q2->o_bias);
  EXPECT_EQ(q2->head_dim, 16);

  auto q3 = kQwen3Backbone.make_spec(config("Qwen3ForCausalLM", "qwen3"));
  ASSERT_TRUE(q3.ok());
  EXPECT_EQ(q3->head_dim, 128) << "Qwen3Config's default head_dim, not hidden/heads";
  EXPECT_TRUE(q3->qk_norm);
  EXPECT_FALSE(q3->qkv_bias);

  auto il = kInternLM2Backbone.make_spec(config("InternLM2ForCausalLM", "internlm2"));
  ASSERT_TRUE(il.ok());
  EXPECT_TRUE(il->qkv_bias) << "InternLM2Config defaults bias to true";
  auto il2 =
      kInternLM2Backbone.make_spec(config("InternLM2ForCausalLM", "internlm2", {{"bias", false}}));
  EXPECT_FALSE(il2->qkv_bias);

  auto ll =
      kLlamaBackbone.make_spec(config("LlamaForCausalLM", "llama", {{"attention_bias", true}}));
  ASSERT_TRUE(ll.ok());
  EXPECT_TRUE(ll->qkv_bias && ll->o_bias);

  auto sliding =
      kQwen2Backbone.make_spec(config("Qwen2ForCausalLM", "qwen2", {{"use_sliding_window", true}}));
  EXPECT_EQ(sliding.status().code(), StatusCode::kUnsupported);

  io::TextConfig gelu = config("LlamaForCausalLM", "llama");
  gelu.hidden_act = "gelu";
  EXPECT_EQ(kLlamaBackbone.make_spec(gelu).status().code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace ivl::model
