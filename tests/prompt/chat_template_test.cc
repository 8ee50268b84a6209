#include "prompt/chat_template.h"

#include <gtest/gtest.h>

#include "prompt/conversation.h"
#include "prompt/reference_cases.h"
#include "support/fixtures.h"

namespace ivl::prompt {
namespace {

std::string render_and_expand(const ChatTemplate& t, const ChatTurns& turns,
                              const std::vector<int64_t>& tiles) {
  auto rendered = render_conversation(t, conversation_from_chat(turns));
  EXPECT_TRUE(rendered.ok()) << rendered.status().to_string();
  auto expanded = expand_image_placeholders(*rendered, tiles, 256);
  EXPECT_TRUE(expanded.ok()) << expanded.status().to_string();
  return expanded.ok() ? *expanded : "";
}

// The acceptance check: every reference case's rendered query, byte for byte.
TEST(ChatTemplate, RendersEveryReferenceQuery) {
  for (const std::string model : {"tiny-internvl3-qwen2", "tiny-internvl35-qwen3-v"}) {
    nlohmann::json ref = test::read_json_file(test::fixture("reference/" + model + ".json"));
    auto tmpl = find_chat_template(ref.at("template").get<std::string>());
    ASSERT_TRUE(tmpl.ok()) << tmpl.status().to_string();
    for (const auto& c : test::reference_cases(model)) {
      std::string query = render_and_expand(**tmpl, c.turns, c.num_patches);
      EXPECT_EQ(test::abbreviate_image_context(query), c.expected.at("query").get<std::string>())
          << model << " / " << c.name;
    }
  }
}

TEST(ChatTemplate, ExactStringsOfEveryTemplate) {
  ChatTurns turns{.question = "Q", .num_images = 0, .system_message = std::string("S")};
  auto render = [&](std::string_view name) {
    auto t = find_chat_template(name);
    EXPECT_TRUE(t.ok());
    return *render_conversation(**t, conversation_from_chat(turns));
  };
  EXPECT_EQ(
      render("internvl2_5"),
      "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render("internlm2-chat"),
            "<|im_start|>system\nS<|im_end|><|im_start|>user\nQ<|im_end|><|im_start|>assistant\n");
  EXPECT_EQ(render("Hermes-2"), render("internlm2-chat"));
  EXPECT_EQ(render("phi3-chat"), "<|system|>\nS<|end|><|user|>\nQ<|end|><|assistant|>\n");
  EXPECT_EQ(render("internvl3_5_gpt_oss"),
            "<|start|>system<|message|>S<|end|><|start|>user<|message|>Q<|end|><|start|>assistant");
}

TEST(ChatTemplate, SystemMessageDefaultOverrideAndThinking) {
  auto t = *find_chat_template("internvl2_5");
  Conversation c{.system_message = std::nullopt, .messages = {{Role::kUser, "hi"}}};
  std::string def = *render_conversation(*t, c);
  EXPECT_NE(def.find(std::string(t->default_system_message)), std::string::npos);
  c.system_message = "";
  EXPECT_EQ(
      *render_conversation(*t, c),
      "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  c.system_message = std::string(kThinkingSystemPrompt);
  std::string thinking = *render_conversation(*t, c);
  EXPECT_NE(thinking.find("<think> and </think>"), std::string::npos);
  EXPECT_NE(thinking.find("protocol:\n\n1. First"), std::string::npos);
}

TEST(ChatTemplate, UnknownTemplateListsSupported) {
  auto t = find_chat_template("vicuna_v1.1");
  EXPECT_EQ(t.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(t.status().message().find("internvl2_5"), std::string::npos);
  EXPECT_NE(t.status().message().find("phi3-chat"), std::string::npos);
}

TEST(ChatTemplate, StopTokens) {
  EXPECT_EQ((*find_chat_template("internvl2_5"))->stop_token, "<|im_end|>");
  EXPECT_EQ((*find_chat_template("phi3-chat"))->stop_token, "<|end|>");
  EXPECT_EQ((*find_chat_template("internvl3_5_gpt_oss"))->stop_token, "<|return|>");
}

TEST(Conversation, ChatPrependsPlaceholderOnlyWithoutHistory) {
  Conversation c = conversation_from_chat({.question = "What?", .num_images = 1});
  EXPECT_EQ(c.messages.back().text, "<image>\nWhat?");
  c = conversation_from_chat({.question = "What?", .num_images = 0});
  EXPECT_EQ(c.messages.back().text, "What?");
  c = conversation_from_chat({.question = "A <image> B", .num_images = 1});
  EXPECT_EQ(c.messages.back().text, "A <image> B");
  c = conversation_from_chat(
      {.question = "More?", .history = {{"<image>\nQ", "A"}}, .num_images = 1});
  EXPECT_EQ(c.messages.back().text, "More?");
  EXPECT_EQ(c.messages.size(), 3u);
}

TEST(Conversation, PlaceholderCountMustMatchImages) {
  const std::vector<int64_t> one = {1}, two = {1, 2};
  auto too_many_placeholders = expand_image_placeholders("<image><image>", one, 256);
  EXPECT_EQ(too_many_placeholders.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_many_placeholders.status().message().find("2 <image> placeholder"),
            std::string::npos);
  auto too_many_images = expand_image_placeholders("<image>", two, 256);
  EXPECT_EQ(too_many_images.status().code(), StatusCode::kInvalidArgument);
  auto ok = expand_image_placeholders("a<image>b<image>c", two, 2);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok,
            "a<img><IMG_CONTEXT><IMG_CONTEXT></img>b<img><IMG_CONTEXT><IMG_CONTEXT><IMG_CONTEXT>"
            "<IMG_CONTEXT></img>c");
}

TEST(Conversation, RejectsBrokenTurnOrder) {
  auto t = *find_chat_template("internvl2_5");
  Conversation c{.messages = {{Role::kAssistant, "x"}}};
  EXPECT_EQ(render_conversation(*t, c).status().code(), StatusCode::kInvalidArgument);
  c.messages = {{Role::kUser, "q"}, {Role::kAssistant, "a"}};
  EXPECT_NE(render_conversation(*t, c).status().message().find("last message"), std::string::npos);
  c.messages = {{Role::kUser, "q"}, {Role::kUser, "q2"}};
  EXPECT_EQ(render_conversation(*t, c).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(render_conversation(*t, Conversation{}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ivl::prompt
