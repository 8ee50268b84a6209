// The byte-level BPE model: vocabulary, merge ranks and the merge loop (Hugging Face
// `tokenizers` models::bpe semantics with an empty continuing_subword_prefix/end_of_word_suffix
// and no dropout).
//
// A word is a piece of raw bytes produced by the pre-tokenizer. Its initial symbols are the
// vocabulary ids of the ByteLevel characters of its bytes; adjacent symbols are merged by
// lowest merge rank first (leftmost on ties) until no pair has a merge. Bytes whose ByteLevel
// character is not in the vocabulary become the unknown token when there is one, and are
// dropped otherwise (as Hugging Face does).
//
// Immutable after build() except for the word cache, which is per thread (see word_cache.h):
// all const methods are thread-safe and take no locks.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ivl/status.h"
#include "tokenizer/word_cache.h"

namespace ivl::tok {

// Largest token id accepted from a file: real vocabularies stay below 2^18; the limit keeps a
// corrupt id from turning into a multi-gigabyte table.
inline constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

// What a loader read from the files, before validation. Tokens and merges are kept back to
// back in two arenas rather than as 300k small strings, which keeps loading fast.
class BpeSpec {
 public:
  // A capacity hint (e.g. from the file size).
  void reserve(size_t tokens, size_t merges, size_t bytes);
  void add_token(std::string_view token, int64_t id);
  // `line` is the merge's line in its file (0 when the file is not line-based), for errors.
  void add_merge(std::string_view left, std::string_view right, size_t line = 0);

  size_t token_count() const { return tokens_.size(); }
  std::string_view token(size_t i) const {
    return std::string_view(token_arena_).substr(tokens_[i].offset, tokens_[i].size);
  }
  int64_t token_id(size_t i) const { return tokens_[i].id; }

  size_t merge_count() const { return merges_.size(); }
  std::string_view merge_left(size_t i) const {
    return std::string_view(merge_arena_).substr(merges_[i].offset, merges_[i].left);
  }
  std::string_view merge_right(size_t i) const {
    return std::string_view(merge_arena_)
        .substr(merges_[i].offset + merges_[i].left, merges_[i].right);
  }
  size_t merge_line(size_t i) const { return merges_[i].line; }

  std::optional<std::string> unk_token;
  bool fuse_unk = false;
  bool ignore_merges = false;  // a word that is itself in the vocabulary is one token

 private:
  struct Token {
    size_t offset;
    size_t size;
    int64_t id;
  };
  struct Merge {
    size_t offset;
    uint32_t left;
    uint32_t right;
    size_t line;
  };
  std::string token_arena_;
  std::vector<Token> tokens_;
  std::string merge_arena_;
  std::vector<Merge> merges_;
};

class BpeModel {
 public:
  // Validates `spec`: ids in [0, kMaxTokenId], no id used twice, both sides of every merge and
  // their concatenation in the vocabulary. Errors are kCorruptData and name the file
  // (`vocab_source` or `merges_source`) and the offending token or merge.
  static Result<std::unique_ptr<BpeModel>> build(BpeSpec spec, std::string_view vocab_source,
                                                 std::string_view merges_source);

  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  // Appends the ids of `word` (raw bytes) to `out`.
  void encode_word(std::string_view word, std::vector<int32_t>* out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The vocabulary entry for `id`, or nullopt. The view lives as long as the model.
  std::optional<std::string_view> id_to_token(int32_t id) const;
  // The bytes the ByteLevel decoder turns token `id` into (empty for unknown ids).
  std::string_view decoded_bytes(int32_t id) const;

  int32_t max_id() const { return static_cast<int32_t>(present_.size()) - 1; }
  size_t size() const { return size_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t id;
  };
  // Open-addressing hash map from an id pair to its merge; the hot lookup of the merge loop.
  class PairMap {
   public:
    void reserve(size_t count);
    void insert(int32_t left, int32_t right, Merge merge);  // replaces an existing entry
    const Merge* find(int32_t left, int32_t right) const;

   private:
    struct Slot {
      uint64_t key;
      Merge merge;
    };
    static constexpr uint64_t kEmpty = ~uint64_t{0};
    size_t slot_of(uint64_t key) const;
    std::vector<Slot> slots_;
    int shift_ = 64;
  };

  BpeModel() : cache_(kCacheWords) {}
  void merge_small(std::vector<int32_t>* symbols) const;
  void merge_large(std::vector<int32_t>* symbols) const;

  static constexpr size_t kCacheWords = 1 << 16;  // per thread: ~3 MB full, typical words
  static constexpr size_t kMaxCachedWordBytes = 256;
  static constexpr size_t kSmallWordSymbols = 24;

  // Tokens are stored back to back in arenas (one allocation instead of one per token, which
  // matters for load time with 150k tokens) and found through an open-addressing index.
  std::string_view token_view(size_t id) const {
    return std::string_view(token_arena_)
        .substr(token_offsets_[id], token_offsets_[id + 1] - token_offsets_[id]);
  }
  std::string token_arena_;              // vocabulary entries, by id
  std::vector<uint32_t> token_offsets_;  // by id, size max_id + 2
  std::vector<bool> present_;            // by id
  std::vector<int32_t> index_;           // hash slots holding ids, -1 = empty
  size_t size_ = 0;
  std::string decoded_arena_;              // ByteLevel-decoded bytes of all tokens
  std::vector<uint32_t> decoded_offsets_;  // by id, size max_id + 2
  PairMap merges_;
  std::array<int32_t, 256> byte_ids_{};  // id of each byte's ByteLevel character, or -1
  int32_t unk_id_ = -1;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  WordCache cache_;
};

}  // namespace ivl::tok
