// StreamDecoder: pushing ids one at a time yields exactly decode(all ids), and text is only
// released once its characters are complete.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/fixtures.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_util.h"

namespace ivl::tok {
namespace {

using testing::escape;
using testing::fixture_tokenizer;

const std::string kFffd = "\xEF\xBF\xBD";

std::vector<std::string> stream(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip) {
  StreamDecoder decoder(tok, skip);
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(decoder.push(id));
  pieces.push_back(decoder.flush());
  return pieces;
}

std::string join(const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& p : pieces) out += p;
  return out;
}

TEST(StreamDecoder, ConcatenationEqualsDecodeOnEveryCorpusRow) {
  const Tokenizer& tok = fixture_tokenizer("tiny-internvl35-qwen3-v");
  const nlohmann::json rows = ivl::test::read_json_file(
      ivl::test::fixture("tokenizer/tokenizer_tiny-internvl35-qwen3-v.json"));
  size_t failures = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto ids = rows[i].at("ids").get<std::vector<int32_t>>();
    for (bool skip : {false, true}) {
      const auto pieces = stream(tok, ids, skip);
      const std::string expected = tok.decode(ids, skip);
      if (join(pieces) != expected && failures++ < 10) {
        ADD_FAILURE() << "row " << i << " skip=" << skip << "\n  expected \"" << escape(expected)
                      << "\"\n  streamed \"" << escape(join(pieces)) << "\"";
      }
      // The corpus decodes without U+FFFD, so no piece may contain one.
      for (const auto& p : pieces) {
        if (p.find(kFffd) != std::string::npos && failures++ < 10) {
          ADD_FAILURE() << "row " << i << ": a piece contains U+FFFD: \"" << escape(p) << "\"";
        }
      }
    }
  }
  EXPECT_EQ(failures, 0u);
}

// Emoji and rare CJK that the vocabulary spells with several byte tokens: the pieces in
// between are held back, never emitted as U+FFFD.
TEST(StreamDecoder, HoldsBackIncompleteCharacters) {
  const Tokenizer& tok = fixture_tokenizer("tiny-internvl3-qwen2-hf");
  const std::string text =
      "Parrot \xF0\x9F\xA6\x9C, astronaut \xF0\x9F\xA7\x91\xE2\x80\x8D\xF0\x9F\x9A\x80, "
      "\xF0\x9D\x94\x98 and \xF0\xA0\x80\x80\xF0\xAA\x9A\xB2 end";
  const auto ids = tok.encode(text);
  const auto pieces = stream(tok, ids, false);
  EXPECT_EQ(join(pieces), text);
  size_t held = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(is_valid_utf8(pieces[i]));
    EXPECT_EQ(pieces[i].find(kFffd), std::string::npos) << "push " << i;
    // A token that decodes to U+FFFD on its own is part of a split character.
    const bool partial =
        tok.decode(std::vector<int32_t>{ids[i]}, false).find(kFffd) != std::string::npos;
    if (partial && pieces[i].empty()) ++held;
  }
  EXPECT_GT(held, 0u) << "the text should contain characters split across tokens";
}

TEST(StreamDecoder, FlushRendersAnUnfinishedCharacterAsReplacement) {
  const Tokenizer& tok = fixture_tokenizer("tiny-internvl3-qwen2-hf");
  const int32_t lead = *tok.token_to_id("\xC3\xA2");  // "â": the byte 0xE2
  const int32_t a = *tok.token_to_id("a");
  StreamDecoder d(tok, false);
  EXPECT_EQ(d.push(a), "a");
  EXPECT_EQ(d.push(lead), "");
  EXPECT_EQ(d.flush(), kFffd);
  // An invalid sequence followed by more text comes out once the text does.
  StreamDecoder d2(tok, false);
  EXPECT_EQ(d2.push(lead), "");
  EXPECT_EQ(d2.push(a), kFffd + "a");
  EXPECT_EQ(d2.flush(), "");
}

TEST(StreamDecoder, SkipsSpecialTokensWhenAsked) {
  const Tokenizer& tok = fixture_tokenizer("tiny-internvl3-qwen2-hf");
  const auto ids = tok.encode("<|im_start|>assistant\nHi!<|im_end|>");
  EXPECT_EQ(join(stream(tok, ids, true)), "assistant\nHi!");
  EXPECT_EQ(join(stream(tok, ids, false)), "<|im_start|>assistant\nHi!<|im_end|>");
}

}  // namespace
}  // namespace ivl::tok
