// Broken or missing tokenizer files give a clear Status naming the file, never a crash or an
// exception.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/fixtures.h"
#include "tokenizer_test_util.h"

namespace ivl::tok {
namespace {

namespace fs = std::filesystem;
using testing::write_file;

// A minimal, valid vocab.json + merges.txt pair ("a", "b", "ab").
fs::path tiny_slow_checkpoint(const std::string& name) {
  const fs::path d = ivl::test::scratch_dir(name);
  write_file(d / "vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
  write_file(d / "merges.txt", "#version: 0.2\na b\n");
  return d;
}

std::string tiny_tokenizer_json(const std::string& model) {
  return R"({"added_tokens": [], "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "post_processor": null, "decoder": {"type": "ByteLevel"}, "model": )" +
         model + "}";
}

void expect_error(const fs::path& dir, StatusCode code, const std::string& must_mention) {
  const auto result = load_tokenizer(dir);
  ASSERT_FALSE(result.ok()) << "loading " << dir << " should fail";
  EXPECT_EQ(result.status().code(), code) << result.status().to_string();
  EXPECT_NE(result.status().message().find(must_mention), std::string::npos)
      << "message \"" << result.status().message() << "\" should mention \"" << must_mention
      << "\"";
}

TEST(BadInput, TinyValidCheckpointsLoad) {
  const auto slow = load_tokenizer(tiny_slow_checkpoint("tok_ok_slow"));
  ASSERT_TRUE(slow.ok()) << slow.status().to_string();
  EXPECT_EQ((*slow)->encode("abab"), (std::vector<int32_t>{2, 2}));
  const fs::path d = ivl::test::scratch_dir("tok_ok_json");
  write_file(d / "tokenizer.json",
             tiny_tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2},
                                     "merges": [["a", "b"]]})"));
  const auto json_form = load_tokenizer(d);
  ASSERT_TRUE(json_form.ok()) << json_form.status().to_string();
  EXPECT_EQ((*json_form)->encode("abab"), (std::vector<int32_t>{2, 2}));
}

TEST(BadInput, MissingDirectoryOrFiles) {
  expect_error(ivl::test::scratch_dir("tok_empty") / "nope", StatusCode::kNotFound, "nope");
  const fs::path empty = ivl::test::scratch_dir("tok_empty");
  expect_error(empty, StatusCode::kNotFound, "tokenizer.json");
  expect_error(empty, StatusCode::kNotFound, "tokenizer.model");
  const fs::path half = ivl::test::scratch_dir("tok_half");
  write_file(half / "vocab.json", "{}");
  expect_error(half, StatusCode::kNotFound, "merges.txt");
}

TEST(BadInput, MalformedJson) {
  const fs::path d = ivl::test::scratch_dir("tok_bad_json");
  write_file(d / "tokenizer.json", "{\"model\": {\"vocab\": {\"a\": 0,, }");
  expect_error(d, StatusCode::kCorruptData, "tokenizer.json");

  const fs::path slow = tiny_slow_checkpoint("tok_bad_vocab_json");
  write_file(slow / "vocab.json", "[1, 2");
  expect_error(slow, StatusCode::kCorruptData, "vocab.json");

  const fs::path config = tiny_slow_checkpoint("tok_bad_config");
  write_file(config / "tokenizer_config.json", "{\"add_bos_token\": tru}");
  expect_error(config, StatusCode::kCorruptData, "tokenizer_config.json");

  const fs::path added = tiny_slow_checkpoint("tok_bad_added");
  write_file(added / "added_tokens.json", "{\"<x>\": \"three\"}");
  expect_error(added, StatusCode::kCorruptData, "added_tokens.json");
}

TEST(BadInput, MergesReferringToUnknownTokens) {
  const fs::path slow = tiny_slow_checkpoint("tok_bad_merge_txt");
  write_file(slow / "merges.txt", "#version: 0.2\na b\nb c\n");
  expect_error(slow, StatusCode::kCorruptData, "merges.txt: line 3");

  const fs::path json_dir = ivl::test::scratch_dir("tok_bad_merge_json");
  write_file(json_dir / "tokenizer.json",
             tiny_tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0, "b": 1},
                                     "merges": ["a b"]})"));  // "ab" is missing
  expect_error(json_dir, StatusCode::kCorruptData, "\"ab\"");
  expect_error(json_dir, StatusCode::kCorruptData, "tokenizer.json");

  const fs::path bad_line = tiny_slow_checkpoint("tok_bad_merge_line");
  write_file(bad_line / "merges.txt", "a b c\n");
  expect_error(bad_line, StatusCode::kCorruptData, "line 1");
}

TEST(BadInput, VocabIdsOutOfRangeOrDuplicated) {
  const fs::path dup = tiny_slow_checkpoint("tok_dup_id");
  write_file(dup / "vocab.json", R"({"a": 0, "b": 0, "ab": 2})");
  expect_error(dup, StatusCode::kCorruptData, "both have id 0");
  expect_error(dup, StatusCode::kCorruptData, "vocab.json");

  const fs::path negative = tiny_slow_checkpoint("tok_negative_id");
  write_file(negative / "vocab.json", R"({"a": -1, "b": 1, "ab": 2})");
  expect_error(negative, StatusCode::kCorruptData, "vocab.json");

  const fs::path huge = tiny_slow_checkpoint("tok_huge_id");
  write_file(huge / "vocab.json", R"({"a": 0, "b": 1, "ab": 4000000000})");
  expect_error(huge, StatusCode::kCorruptData, "outside");

  const fs::path not_int = tiny_slow_checkpoint("tok_string_id");
  write_file(not_int / "vocab.json", R"({"a": 0, "b": "1", "ab": 2})");
  expect_error(not_int, StatusCode::kCorruptData, "integer");

  const fs::path json_dir = ivl::test::scratch_dir("tok_dup_id_json");
  write_file(json_dir / "tokenizer.json",
             tiny_tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0, "b": 0},
                                     "merges": []})"));
  expect_error(json_dir, StatusCode::kCorruptData, "both have id 0");
}

TEST(BadInput, ConflictingAddedTokens) {
  const fs::path d = tiny_slow_checkpoint("tok_added_conflict");
  write_file(d / "added_tokens.json", R"({"<x>": 3})");
  write_file(d / "tokenizer_config.json",
             R"({"added_tokens_decoder": {"3": {"content": "<y>", "special": true}}})");
  expect_error(d, StatusCode::kCorruptData, "added_tokens.json");
}

TEST(BadInput, UnreadableSentencePieceModel) {
  const fs::path d = ivl::test::scratch_dir("tok_bad_model");
  write_file(d / "tokenizer.model", std::string("\x08\x96\x01not a protobuf at all\xFF\xFF", 24));
  expect_error(d, StatusCode::kCorruptData, "tokenizer.model");
  const fs::path empty = ivl::test::scratch_dir("tok_empty_model");
  write_file(empty / "tokenizer.model", "");
  expect_error(empty, StatusCode::kCorruptData, "tokenizer.model");
}

TEST(BadInput, UnsupportedPipelinesSayWhat) {
  const fs::path d = ivl::test::scratch_dir("tok_wordpiece");
  write_file(d / "tokenizer.json", tiny_tokenizer_json(R"({"type": "WordPiece", "vocab": {}})"));
  expect_error(d, StatusCode::kUnsupported, "WordPiece");

  const fs::path lower = ivl::test::scratch_dir("tok_lowercase");
  std::string j = tiny_tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0}, "merges": []})");
  j.replace(j.find("\"normalizer\": null"), 18, "\"normalizer\": {\"type\": \"Lowercase\"}");
  write_file(lower / "tokenizer.json", j);
  expect_error(lower, StatusCode::kUnsupported, "Lowercase");

  const fs::path regex = ivl::test::scratch_dir("tok_bad_regex");
  std::string r = tiny_tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0}, "merges": []})");
  r.replace(r.find("{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}"),
            66,
            R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(["},
               "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "use_regex": false}]})");
  write_file(regex / "tokenizer.json", r);
  expect_error(regex, StatusCode::kCorruptData, "regex");
}

}  // namespace
}  // namespace ivl::tok
