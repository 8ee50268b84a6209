// Exactness against the Hugging Face `tokenizers` library: every row of the tokenizer corpora
// and of the reference cases, for both file sets (tokenizer.json and vocab.json+merges.txt).
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "tokenizer_test_util.h"

namespace ivl::tok {
namespace {

using testing::escape;
using testing::fixture_tokenizer;
using testing::format_ids;

struct CorpusCase {
  std::string model;  // fixture model directory
  std::string
      corpus;  // file under fixtures/, with rows {text, ids, decoded[, decoded_skip_special]}
  bool reference = false;  // rows are the "tokenizer" array of a reference/<model>.json
};

void PrintTo(const CorpusCase& c, std::ostream* os) {
  *os << c.model << " x " << c.corpus;
}

std::string case_name(const ::testing::TestParamInfo<CorpusCase>& info) {
  std::string name = info.param.model + (info.param.reference ? "_reference" : "_corpus");
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class CorpusTest : public ::testing::TestWithParam<CorpusCase> {};

TEST_P(CorpusTest, EveryRowEncodesAndDecodesExactly) {
  const CorpusCase& c = GetParam();
  const Tokenizer& tok = fixture_tokenizer(c.model);
  nlohmann::json doc = ivl::test::read_json_file(ivl::test::fixture(c.corpus));
  const nlohmann::json& rows = c.reference ? doc.at("tokenizer") : doc;
  ASSERT_TRUE(rows.is_array());
  ASSERT_GT(rows.size(), 0u);

  size_t id_ok = 0, decode_ok = 0, skip_ok = 0, skip_rows = 0, reported = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const auto text = row.at("text").get<std::string>();
    const auto expected = row.at("ids").get<std::vector<int32_t>>();
    const std::vector<int32_t> ids = tok.encode(text);
    if (ids == expected) {
      ++id_ok;
    } else if (reported++ < 20) {
      ADD_FAILURE() << c.model << " row " << i << " text \"" << escape(text) << "\"\n  expected "
                    << format_ids(expected) << "\n  actual   " << format_ids(ids);
    }
    const auto decoded = tok.decode(expected, false);
    if (decoded == row.at("decoded").get<std::string>()) {
      ++decode_ok;
    } else if (reported++ < 20) {
      ADD_FAILURE() << c.model << " row " << i << " decode(ids, false)\n  expected \""
                    << escape(row.at("decoded").get<std::string>()) << "\"\n  actual   \""
                    << escape(decoded) << "\"";
    }
    if (row.contains("decoded_skip_special")) {
      ++skip_rows;
      const auto skipped = tok.decode(expected, true);
      if (skipped == row.at("decoded_skip_special").get<std::string>()) {
        ++skip_ok;
      } else if (reported++ < 20) {
        ADD_FAILURE() << c.model << " row " << i << " decode(ids, true)\n  expected \""
                      << escape(row.at("decoded_skip_special").get<std::string>())
                      << "\"\n  actual   \"" << escape(skipped) << "\"";
      }
    }
  }
  std::cout << "[ corpus   ] " << c.model << " x " << c.corpus << ": ids " << id_ok << "/"
            << rows.size() << ", decode " << decode_ok << "/" << rows.size()
            << ", decode(skip_special) " << skip_ok << "/" << skip_rows << "\n";
  EXPECT_EQ(id_ok, rows.size());
  EXPECT_EQ(decode_ok, rows.size());
  EXPECT_EQ(skip_ok, skip_rows);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, CorpusTest,
    ::testing::Values(
        CorpusCase{"tiny-internvl3-qwen2-hf", "tokenizer/tokenizer_tiny-internvl3-qwen2-hf.json"},
        // The vocab.json + merges.txt form of the same tokenizer, against the same corpus.
        CorpusCase{"tiny-internvl3-qwen2", "tokenizer/tokenizer_tiny-internvl3-qwen2-hf.json"},
        CorpusCase{"tiny-internvl35-qwen3-v", "tokenizer/tokenizer_tiny-internvl35-qwen3-v.json"},
        CorpusCase{"tiny-internvl35-qwen3-v-hf",
                   "tokenizer/tokenizer_tiny-internvl35-qwen3-v.json"},
        CorpusCase{"tiny-internvl3-qwen2", "reference/tiny-internvl3-qwen2.json", true},
        CorpusCase{"tiny-internvl3-qwen2-hf", "reference/tiny-internvl3-qwen2.json", true},
        CorpusCase{"tiny-internvl35-qwen3-v", "reference/tiny-internvl35-qwen3-v.json", true},
        CorpusCase{"tiny-internvl35-qwen3-v-hf", "reference/tiny-internvl35-qwen3-v.json", true}),
    case_name);

// What each fixture tokenizer says about itself.
TEST(FixtureTokenizers, Properties) {
  const Tokenizer& json_form = fixture_tokenizer("tiny-internvl3-qwen2-hf");
  const Tokenizer& slow_form = fixture_tokenizer("tiny-internvl3-qwen2");
  const Tokenizer& qwen3 = fixture_tokenizer("tiny-internvl35-qwen3-v");
  EXPECT_EQ(json_form.kind(), "byte-level BPE (tokenizer.json)");
  EXPECT_EQ(slow_form.kind(), "byte-level BPE (vocab.json + merges.txt)");
  for (const Tokenizer* t : {&json_form, &slow_form}) {
    EXPECT_EQ(t->vocab_size(), 151674);
    EXPECT_EQ(t->added_token_count(), 31u);
    EXPECT_FALSE(t->adds_bos());
    EXPECT_EQ(t->bos_id(), std::nullopt);
    EXPECT_EQ(t->eos_id(), 151645);  // <|im_end|>
    EXPECT_EQ(t->token_to_id("<IMG_CONTEXT>"), 151667);
    EXPECT_EQ(t->token_to_id("<img>"), 151665);
    EXPECT_EQ(t->token_to_id("Ġworld"), 1879);
    EXPECT_EQ(t->token_to_id("no such token"), std::nullopt);
    EXPECT_EQ(t->id_to_token(1879), "Ġworld");
    EXPECT_EQ(t->id_to_token(151667), "<IMG_CONTEXT>");
    EXPECT_EQ(t->id_to_token(151674), std::nullopt);
    EXPECT_EQ(t->id_to_token(-1), std::nullopt);
    EXPECT_TRUE(t->is_special(151645));
    EXPECT_TRUE(t->is_special(151667));
    EXPECT_FALSE(t->is_special(151657));  // <tool_call> is added but not special
    EXPECT_FALSE(t->is_special(1879));
  }
  EXPECT_EQ(qwen3.vocab_size(), 151678);
  EXPECT_EQ(qwen3.token_to_id("<IMG_CONTEXT>"), 151671);
  EXPECT_EQ(qwen3.token_to_id("<think>"), 151667);
  EXPECT_FALSE(qwen3.is_special(151667));
}

TEST(FixtureTokenizers, EncodeWithoutSpecialMatchesEncodeWhenNothingIsAdded) {
  const Tokenizer& t = fixture_tokenizer("tiny-internvl35-qwen3-v");
  EXPECT_EQ(t.encode_without_special("<|im_start|>user\nhi<|im_end|>"),
            t.encode("<|im_start|>user\nhi<|im_end|>"));
}

TEST(FixtureTokenizers, OutOfRangeIdsDecodeToNothing) {
  const Tokenizer& t = fixture_tokenizer("tiny-internvl3-qwen2-hf");
  const std::vector<int32_t> ids = {9707, -5, 151674, 1 << 30, 1879};
  EXPECT_EQ(t.decode(ids, false), "Hello world");
}

TEST(FixtureTokenizers, InvalidUtf8BytesDecodeToReplacementCharacters) {
  const Tokenizer& t = fixture_tokenizer("tiny-internvl3-qwen2-hf");
  // "â" is the ByteLevel character of byte 0xE2, the lead byte of a 3-byte sequence.
  const auto lead = t.token_to_id("â");
  ASSERT_TRUE(lead.has_value());
  const auto a = t.token_to_id("a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(t.decode(std::vector<int32_t>{*lead}, false), "\xEF\xBF\xBD");
  EXPECT_EQ(t.decode(std::vector<int32_t>{*a, *lead, *a}, false),
            "a\xEF\xBF\xBD"
            "a");
  // A special token between the bytes does not hide the broken sequence.
  EXPECT_EQ(t.decode(std::vector<int32_t>{*lead, 151645}, false), "\xEF\xBF\xBD<|im_end|>");
}

// tokenizer_config.json "split_special_tokens": true makes special tokens in the text plain
// text, while non-special added tokens are still matched.
TEST(FixtureTokenizers, SplitSpecialTokensOption) {
  const auto src = ivl::test::fixture("models/tiny-internvl3-qwen2");
  const auto dir = ivl::test::scratch_dir("tok_split_special");
  for (const char* f : {"vocab.json", "merges.txt", "added_tokens.json"}) {
    std::filesystem::copy_file(src / f, dir / f);
  }
  auto config = ivl::test::read_json_file(src / "tokenizer_config.json");
  config["split_special_tokens"] = true;
  testing::write_file(dir / "tokenizer_config.json", config.dump());
  auto loaded = load_tokenizer(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  const Tokenizer& split = **loaded;
  const Tokenizer& normal = fixture_tokenizer("tiny-internvl3-qwen2");
  const std::string text = "<|im_end|><tool_call>";
  EXPECT_EQ(normal.encode(text), (std::vector<int32_t>{151645, 151657}));
  const auto ids = split.encode(text);
  EXPECT_GT(ids.size(), 2u);
  EXPECT_EQ(ids.back(), 151657);  // <tool_call> is not special
  EXPECT_EQ(split.decode(ids, false), text);
  EXPECT_EQ(split.decode(std::vector<int32_t>{151645}, false), "<|im_end|>");
}

TEST(FixtureTokenizers, InvalidUtf8InputIsRepairedFirst) {
  const Tokenizer& t = fixture_tokenizer("tiny-internvl3-qwen2-hf");
  EXPECT_EQ(t.encode("ab\xFF"
                     "cd\xE2\x82"),
            t.encode("ab\xEF\xBF\xBD"
                     "cd\xEF\xBF\xBD"));
}

}  // namespace
}  // namespace ivl::tok
