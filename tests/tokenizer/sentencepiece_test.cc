// The SentencePiece (InternLM2-style) tokenizer. No real InternLM2 tokenizer.model is
// available offline, so a tiny BPE model with byte fallback is trained here, and an
// InternVL-style added_tokens.json / tokenizer_config.json are written next to it.
#include <gtest/gtest.h>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "tokenizer_test_util.h"

namespace ivl::tok {
namespace {

namespace fs = std::filesystem;
using testing::escape;
using testing::write_file;

// Trains the model once per process; returns the directory holding tokenizer.model. The
// directory is named after the test so that tests run as parallel processes do not collide.
const fs::path& trained_model_dir() {
  static const fs::path dir = [] {
    const fs::path d = ivl::test::scratch_dir(
        std::string("sp_model_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::string corpus;
    const nlohmann::json rows = ivl::test::read_json_file(
        ivl::test::fixture("tokenizer/tokenizer_tiny-internvl3-qwen2-hf.json"));
    for (const auto& row : rows) {
      const auto text = row.at("text").get<std::string>();
      bool ascii = true;
      for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
      if (ascii) corpus += text + "\n";
    }
    write_file(d / "corpus.txt", corpus);
    const std::string args = "--input=" + (d / "corpus.txt").string() +
                             " --model_prefix=" + (d / "sp").string() +
                             " --vocab_size=600 --model_type=bpe --byte_fallback=true"
                             " --character_coverage=1.0 --normalization_rule_name=identity"
                             " --remove_extra_whitespaces=false --split_digits=true"
                             " --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1"
                             " --num_threads=1 --minloglevel=2";
    const auto status = sentencepiece::SentencePieceTrainer::Train(args);
    if (!status.ok())
      throw std::runtime_error("SentencePiece training failed: " + status.ToString());
    fs::rename(d / "sp.model", d / "tokenizer.model");
    return d;
  }();
  return dir;
}

const sentencepiece::SentencePieceProcessor& raw_processor() {
  static const auto* sp = [] {
    auto* p = new sentencepiece::SentencePieceProcessor();
    const auto st = p->Load((trained_model_dir() / "tokenizer.model").string());
    if (!st.ok()) throw std::runtime_error(st.ToString());
    return p;
  }();
  return *sp;
}

// A model directory: the trained model plus InternVL's three image tokens after its vocabulary.
fs::path make_checkpoint(const std::string& name, const std::string& config_json) {
  const fs::path d = ivl::test::scratch_dir(name);
  fs::copy_file(trained_model_dir() / "tokenizer.model", d / "tokenizer.model");
  const int n = raw_processor().GetPieceSize();
  write_file(d / "added_tokens.json", "{\"<img>\": " + std::to_string(n) +
                                          ", \"</img>\": " + std::to_string(n + 1) +
                                          ", \"<IMG_CONTEXT>\": " + std::to_string(n + 2) + "}");
  if (!config_json.empty()) write_file(d / "tokenizer_config.json", config_json);
  return d;
}

std::string internlm2_config(int n, const std::string& extra = "") {
  auto entry = [](int id, const std::string& content) {
    return "\"" + std::to_string(id) + "\": {\"content\": \"" + content +
           "\", \"lstrip\": false, \"rstrip\": false, \"single_word\": false, "
           "\"normalized\": false, \"special\": true}";
  };
  return "{" + extra + "\"tokenizer_class\": \"InternLM2Tokenizer\", \"bos_token\": \"<s>\", " +
         "\"eos_token\": \"</s>\", \"added_tokens_decoder\": {" + entry(0, "<unk>") + ", " +
         entry(1, "<s>") + ", " + entry(2, "</s>") + ", " + entry(n, "<img>") + ", " +
         entry(n + 1, "</img>") + ", " + entry(n + 2, "<IMG_CONTEXT>") + "}}";
}

std::unique_ptr<Tokenizer> load_or_die(const fs::path& dir) {
  auto t = load_tokenizer(dir);
  if (!t.ok()) throw std::runtime_error(t.status().to_string());
  return std::move(t).value();
}

const std::vector<std::string>& sample_texts() {
  static const std::vector<std::string> texts = {
      "Hello world",
      "The GNU General Public License is a free, copyleft license.",
      "  leading spaces and   runs\n\n\ttabs",
      "na\xC3\xAFve caf\xC3\xA9 \xE2\x80\x94 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x98\x80",
      "def f(x):\n    return x**2  # comment",
      "12345 3.14159",
      "",
  };
  return texts;
}

std::vector<int32_t> raw_ids(const std::string& text) {
  std::vector<int> ids;
  EXPECT_TRUE(raw_processor().Encode(text, &ids).ok());
  return std::vector<int32_t>(ids.begin(), ids.end());
}

TEST(SentencePiece, PlainTextMatchesTheRawProcessorWithBos) {
  const int n = raw_processor().GetPieceSize();
  const auto tok = load_or_die(make_checkpoint("sp_plain", internlm2_config(n)));
  EXPECT_EQ(tok->kind(), "SentencePiece (tokenizer.model)");
  EXPECT_TRUE(tok->adds_bos());
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->vocab_size(), n + 3);
  EXPECT_EQ(tok->added_token_count(), 6u);
  for (const std::string& text : sample_texts()) {
    std::vector<int32_t> expected = {1};
    const auto raw = raw_ids(text);
    expected.insert(expected.end(), raw.begin(), raw.end());
    EXPECT_EQ(tok->encode(text), expected) << escape(text);
    EXPECT_EQ(tok->encode_without_special(text), raw) << escape(text);
    // Round trip (identity normalisation, so exact).
    EXPECT_EQ(tok->decode(tok->encode(text), true), text) << escape(text);
    EXPECT_EQ(tok->decode(tok->encode(text), false), "<s>" + text) << escape(text);
  }
}

TEST(SentencePiece, AddedTokensAreMatchedBeforeSentencePiece) {
  const int n = raw_processor().GetPieceSize();
  const auto tok = load_or_die(make_checkpoint("sp_added", internlm2_config(n)));
  EXPECT_EQ(tok->token_to_id("<IMG_CONTEXT>"), n + 2);
  EXPECT_EQ(tok->id_to_token(n), "<img>");
  EXPECT_EQ(tok->token_to_id("<s>"), 1);
  EXPECT_EQ(tok->token_to_id("no such piece"), std::nullopt);
  EXPECT_TRUE(tok->is_special(n + 2));
  EXPECT_TRUE(tok->is_special(1));
  EXPECT_FALSE(tok->is_special(raw_ids("the").back()));

  EXPECT_EQ(tok->encode("<img><IMG_CONTEXT><IMG_CONTEXT></img>"),
            (std::vector<int32_t>{1, n, n + 2, n + 2, n + 1}));
  std::vector<int32_t> expected = {1};
  for (int32_t id : raw_ids("Look at")) expected.push_back(id);
  expected.push_back(n);
  for (int32_t id : raw_ids(" this")) expected.push_back(id);
  expected.push_back(n + 1);
  EXPECT_EQ(tok->encode("Look at<img> this</img>"), expected);
  EXPECT_EQ(tok->decode(expected, false), "<s>Look at<img> this</img>");
  EXPECT_EQ(tok->decode(expected, true), "Look at this");
  // Out-of-range ids render as nothing.
  EXPECT_EQ(tok->decode(std::vector<int32_t>{-3, n + 50}, false), "");
}

TEST(SentencePiece, BosRuleFollowsTheConfig) {
  const int n = raw_processor().GetPieceSize();
  // No tokenizer_config.json: InternLM2Tokenizer's default adds BOS.
  const auto by_default = load_or_die(make_checkpoint("sp_default", ""));
  EXPECT_TRUE(by_default->adds_bos());
  EXPECT_EQ(by_default->encode("hi").front(), 1);
  const auto no_bos =
      load_or_die(make_checkpoint("sp_no_bos", internlm2_config(n, "\"add_bos_token\": false, ")));
  EXPECT_FALSE(no_bos->adds_bos());
  EXPECT_EQ(no_bos->encode("hi"), raw_ids("hi"));
  const auto with_eos =
      load_or_die(make_checkpoint("sp_eos", internlm2_config(n, "\"add_eos_token\": true, ")));
  EXPECT_EQ(with_eos->encode("hi").back(), 2);
}

TEST(SentencePiece, StreamingReassemblesByteFallbackCharacters) {
  const int n = raw_processor().GetPieceSize();
  const auto tok = load_or_die(make_checkpoint("sp_stream", internlm2_config(n)));
  const std::string text = "emoji \xF0\x9F\xA6\x9C and \xE6\x97\xA5\xE6\x9C\xAC words<img> here";
  const auto ids = tok->encode(text);
  for (bool skip : {false, true}) {
    StreamDecoder d(*tok, skip);
    std::string streamed;
    size_t empty_pushes = 0;
    for (int32_t id : ids) {
      const std::string piece = d.push(id);
      EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos);
      if (piece.empty()) ++empty_pushes;
      streamed += piece;
    }
    streamed += d.flush();
    EXPECT_EQ(streamed, tok->decode(ids, skip));
    EXPECT_GT(empty_pushes, 2u);  // the byte pieces of the emoji and the CJK characters
  }
}

// A tokenizer.json this library cannot run (here a Unigram model) next to a tokenizer.model:
// the SentencePiece model is used.
TEST(SentencePiece, UnsupportedTokenizerJsonFallsBackToTheModel) {
  const int n = raw_processor().GetPieceSize();
  const fs::path d = make_checkpoint("sp_fallback", internlm2_config(n));
  write_file(d / "tokenizer.json",
             R"({"normalizer": null, "pre_tokenizer": {"type": "Metaspace"},
                 "decoder": {"type": "Metaspace"}, "model": {"type": "Unigram", "vocab": []}})");
  const auto tok = load_or_die(d);
  EXPECT_EQ(tok->kind(), "SentencePiece (tokenizer.model)");
  std::vector<int32_t> expected = {1};
  for (int32_t id : raw_ids("fallback")) expected.push_back(id);
  EXPECT_EQ(tok->encode("fallback"), expected);
}

}  // namespace
}  // namespace ivl::tok
