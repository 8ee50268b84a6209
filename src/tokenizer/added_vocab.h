// Added tokens (special tokens such as <|im_end|>, and InternVL's <img>, <IMG_CONTEXT>, ...)
// and how they are cut out of the input text before anything else sees it.
//
// Matching follows Hugging Face `tokenizers` (AddedVocabulary):
//  - Two passes. Tokens with normalized=false are matched in the raw text; tokens with
//    normalized=true are matched afterwards in the normalized form of the text between the
//    first-pass matches (their pattern is their normalized content).
//  - Leftmost-longest, non-overlapping: the match that starts first wins, the longest of those.
//  - single_word: a match is dropped when a word character (regex \w) touches either end; the
//    scan still continues after the dropped match (as an Aho-Corasick iterator would).
//  - lstrip / rstrip: the token also swallows the white space (Unicode White_Space) to its
//    left / right.
// Immutable after construction; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ivl/status.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/string_map.h"

namespace ivl::tok {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

// A piece of the input: [begin, end) in the string that was split, either an added token
// (id >= 0) or plain text (id == -1).
struct TextSegment {
  size_t begin = 0;
  size_t end = 0;
  int32_t id = -1;
};

class AddedTokenMatcher {
 public:
  struct Pattern {
    std::string text;
    int32_t id = -1;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
  };

  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(std::vector<Pattern> patterns);

  bool empty() const { return patterns_.empty(); }

  // Appends the segments of `text` (covering it in order, none empty) to `out`.
  void split(std::string_view text, std::vector<TextSegment>* out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // byte -> node index
    int32_t pattern = -1;                               // pattern ending here
  };
  // The longest pattern starting at text[pos], or -1.
  int32_t longest_at(std::string_view text, size_t pos, size_t* len) const;

  std::vector<Pattern> patterns_;
  std::vector<Node> nodes_;
  std::array<bool, 256> first_byte_{};
};

struct AddedVocabOptions {
  // False: every token is matched in the raw text (the Python "slow" tokenizers). True: tokens
  // with normalized=true are matched after the normalizer, against their normalized content.
  bool use_normalized_flag = true;
  // tokenizer_config.json "split_special_tokens": special tokens written in the text are not
  // matched (they are tokenized as ordinary text); they still decode as themselves.
  bool split_special_tokens = false;
};

class AddedVocab {
 public:
  AddedVocab() = default;

  // Validates and indexes `tokens`. Tokens with empty content are ignored (as Hugging Face
  // does). The same content with two ids, or one id with two contents, is kCorruptData naming
  // `source`.
  static Result<AddedVocab> build(std::vector<AddedToken> tokens, const Normalizer& normalizer,
                                  AddedVocabOptions options, std::string_view source);

  size_t size() const { return tokens_.size(); }
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* find_by_id(int32_t id) const;
  std::optional<int32_t> find_by_content(std::string_view content) const;

  const AddedTokenMatcher& raw_matcher() const { return raw_; }
  const AddedTokenMatcher& normalized_matcher() const { return normalized_; }

 private:
  std::vector<AddedToken> tokens_;  // sorted by id
  std::unordered_map<int32_t, size_t> by_id_;
  StringMap<int32_t> by_content_;
  AddedTokenMatcher raw_;
  AddedTokenMatcher normalized_;
};

}  // namespace ivl::tok
