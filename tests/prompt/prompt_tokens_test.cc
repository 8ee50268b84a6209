// The acceptance check for prompts: every reference case rendered with the model's template,
// placeholders expanded, tokenized with the checkpoint's own tokenizer files, and compared with
// the reference ids (length, first/last 64, sha256 of all ids as int64 little endian) — for the
// original-layout and native-layout copy of each model (vocab/merges and tokenizer.json forms).
#include <gtest/gtest.h>

#include "core/sha256.h"
#include "prompt/chat_template.h"
#include "prompt/conversation.h"
#include "prompt/reference_cases.h"
#include "support/fixtures.h"
#include "tokenizer/tokenizer.h"

namespace ivl::prompt {
namespace {

std::string ids_sha256(const std::vector<int32_t>& ids) {
  std::vector<int64_t> wide(ids.begin(), ids.end());  // the reference hashes int64 LE
  return sha256_hex(std::as_bytes(std::span<const int64_t>(wide)));
}

void check_model(const std::string& model_dir, const std::string& reference) {
  auto tokenizer = tok::load_tokenizer(test::fixture("models/" + model_dir));
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  nlohmann::json ref = test::read_json_file(test::fixture("reference/" + reference + ".json"));
  auto tmpl = find_chat_template(ref.at("template").get<std::string>());
  ASSERT_TRUE(tmpl.ok());
  for (const auto& c : test::reference_cases(reference)) {
    SCOPED_TRACE(model_dir + " / " + c.name);
    auto rendered = render_conversation(**tmpl, conversation_from_chat(c.turns));
    ASSERT_TRUE(rendered.ok()) << rendered.status().to_string();
    auto query = expand_image_placeholders(*rendered, c.num_patches, 256);
    ASSERT_TRUE(query.ok()) << query.status().to_string();
    std::vector<int32_t> ids = (*tokenizer)->encode(*query);
    const auto& e = c.expected;
    ASSERT_EQ(static_cast<int64_t>(ids.size()), e.at("input_ids_len").get<int64_t>());
    auto head = e.at("input_ids_head").get<std::vector<int32_t>>();
    auto tail = e.at("input_ids_tail").get<std::vector<int32_t>>();
    EXPECT_EQ(std::vector<int32_t>(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(head.size())),
              head);
    EXPECT_EQ(std::vector<int32_t>(ids.end() - static_cast<ptrdiff_t>(tail.size()), ids.end()),
              tail);
    EXPECT_EQ(ids_sha256(ids), e.at("input_ids_sha256").get<std::string>());
    // Exactly 256 context tokens per tile, as the splice into the LLM input will require.
    int64_t tiles = 0;
    for (int64_t t : c.num_patches) tiles += t;
    auto ctx = (*tokenizer)->token_to_id(kImageContext);
    ASSERT_TRUE(ctx.has_value());
    EXPECT_EQ(std::count(ids.begin(), ids.end(), *ctx), tiles * 256);
  }
}

TEST(PromptTokens, OriginalLayoutVocabMerges) {
  check_model("tiny-internvl3-qwen2", "tiny-internvl3-qwen2");
}
TEST(PromptTokens, NativeLayoutTokenizerJson) {
  check_model("tiny-internvl3-qwen2-hf", "tiny-internvl3-qwen2");
}
TEST(PromptTokens, Qwen3TokenizerJson) {
  check_model("tiny-internvl35-qwen3-v", "tiny-internvl35-qwen3-v");
}
TEST(PromptTokens, Qwen3NativeLayout) {
  check_model("tiny-internvl35-qwen3-v-hf", "tiny-internvl35-qwen3-v");
}

}  // namespace
}  // namespace ivl::prompt
