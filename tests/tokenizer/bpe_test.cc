// The BPE merge loop against a deliberately naive reference implementation, and encoding from
// several threads at once.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "support/fixtures.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_util.h"

namespace ivl::tok {
namespace {

using testing::escape;
using testing::fixture_tokenizer;
using testing::format_ids;

constexpr const char* kModel = "tiny-internvl35-qwen3-v";

// Textbook BPE on strings: repeatedly merge the adjacent pair with the lowest rank (leftmost
// on ties). Quadratic, obviously right.
class NaiveBpe {
 public:
  NaiveBpe() {
    const nlohmann::json j = ivl::test::read_json_file(
        ivl::test::fixture(std::string("models/") + kModel + "/tokenizer.json"));
    for (const auto& [token, id] : j.at("model").at("vocab").items()) {
      vocab_[token] = id.get<int32_t>();
    }
    int rank = 0;
    for (const auto& m : j.at("model").at("merges")) {
      const std::string key = m.is_array() ? m[0].get<std::string>() + " " + m[1].get<std::string>()
                                           : m.get<std::string>();
      ranks_.emplace(key, rank++);
    }
  }

  std::vector<int32_t> encode_word(std::string_view raw) const {
    std::string text;
    append_byte_level(raw, &text);
    std::vector<std::string> symbols;
    for (size_t i = 0; i < text.size();) {
      char32_t cp = 0;
      const size_t len = decode_utf8(text, i, &cp);
      symbols.push_back(text.substr(i, len));
      i += len;
    }
    while (symbols.size() > 1) {
      int best_rank = INT32_MAX;
      size_t best = 0;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        auto it = ranks_.find(symbols[i] + " " + symbols[i + 1]);
        if (it != ranks_.end() && it->second < best_rank) {
          best_rank = it->second;
          best = i;
        }
      }
      if (best_rank == INT32_MAX) break;
      symbols[best] += symbols[best + 1];
      symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    }
    std::vector<int32_t> ids;
    for (const std::string& s : symbols) ids.push_back(vocab_.at(s));
    return ids;
  }

 private:
  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<std::string, int> ranks_;
};

// Random single pre-tokens (one regex piece each) of 1..400 bytes: letter runs (ASCII and
// CJK, optionally with the leading space the Qwen regex keeps) and punctuation runs. Long
// ones exercise the heap-based merge loop, short ones the array-based one.
TEST(Bpe, MergeLoopMatchesNaiveReference) {
  const NaiveBpe naive;
  const Tokenizer& tok = fixture_tokenizer(kModel);
  const std::vector<std::string> alphabets[] = {
      {"a", "e", "i", "n", "r", "s", "t", "th", "in"},
      {"\xE7\x9A\x84", "\xE6\x98\xAF", "\xE4\xB8\x80", "\xE4\xBA\xBA", "\xE6\x88\x91"},
      {"!", "=", "-", "*", "#", "/", "(", ")"},
  };
  std::mt19937 rng(42);
  int checked = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    const auto& alphabet = alphabets[iter % 3];
    std::string word = (iter % 2 == 0) ? " " : "";
    const size_t target = 1 + rng() % (iter % 10 == 0 ? 400 : 40);
    while (word.size() < target) word += alphabet[rng() % alphabet.size()];
    const auto expected = naive.encode_word(word);
    const auto actual = tok.encode_without_special(word);
    ASSERT_EQ(actual, expected) << "word \"" << escape(word) << "\"\n  expected "
                                << format_ids(expected) << "\n  actual   " << format_ids(actual);
    // A second time comes from the word cache.
    ASSERT_EQ(tok.encode_without_special(word), expected);
    ++checked;
  }
  EXPECT_EQ(checked, 3000);
}

TEST(Bpe, VeryLongWordsAndWhiteSpaceRuns) {
  const Tokenizer& tok = fixture_tokenizer(kModel);
  const std::string letters(100000, 'a');
  const auto ids = tok.encode(letters);
  EXPECT_EQ(tok.decode(ids, false), letters);
  const std::string spaces = std::string(50000, ' ') + "x" + std::string(50000, '\n');
  EXPECT_EQ(tok.decode(tok.encode(spaces), false), spaces);
}

// Many threads on one tokenizer, sharing its word cache, give the single-threaded answers.
TEST(Bpe, ConcurrentEncodingIsConsistent) {
  const Tokenizer& tok = fixture_tokenizer(kModel);
  const nlohmann::json rows = ivl::test::read_json_file(
      ivl::test::fixture("tokenizer/tokenizer_tiny-internvl35-qwen3-v.json"));
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> expected;
  std::vector<std::string> decoded;
  for (const auto& row : rows) {
    texts.push_back(row.at("text").get<std::string>());
    expected.push_back(row.at("ids").get<std::vector<int32_t>>());
    decoded.push_back(row.at("decoded").get<std::string>());
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          const size_t k = (i * 7 + static_cast<size_t>(t) * 131) % texts.size();  // vary order
          if (tok.encode(texts[k]) != expected[k]) ++mismatches;
          if (tok.decode(expected[k], false) != decoded[k]) ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace ivl::tok
