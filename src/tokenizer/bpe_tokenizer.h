// Tokenizer implementation for byte-level BPE checkpoints (Qwen2/2.5/3 and GPT-2 style). The
// pipeline mirrors Hugging Face `tokenizers`:
//   added tokens (raw) -> normalizer -> added tokens (normalized) -> regex split ->
//   ByteLevel -> BPE -> post-processor (fixed prefix/suffix ids)
// and decoding is the ByteLevel decoder followed by lossy UTF-8.
// Immutable after construction; thread-safe (see tokenizer.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/added_vocab.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/regex_splitter.h"
#include "tokenizer/tokenizer.h"

namespace ivl::tok {

// Everything a loader gathers from the files.
struct BpePipeline {
  std::unique_ptr<BpeModel> model;
  AddedVocab added;
  Normalizer normalizer;
  std::vector<RegexSplitter> splitters;  // applied one after the other
  std::vector<int32_t> prefix_ids;       // what the post-processor puts before the text
  std::vector<int32_t> suffix_ids;       // ... and after it
  std::optional<int32_t> bos_id;
  std::optional<int32_t> eos_id;
  std::string kind;
};

class BpeTokenizer final : public Tokenizer {
 public:
  explicit BpeTokenizer(BpePipeline pipeline);

  std::vector<int32_t> encode(std::string_view text) const override;
  std::vector<int32_t> encode_without_special(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(int32_t id) const override;
  int32_t vocab_size() const override { return vocab_size_; }
  bool is_special(int32_t id) const override;
  std::optional<int32_t> bos_id() const override { return p_.bos_id; }
  std::optional<int32_t> eos_id() const override { return p_.eos_id; }
  bool adds_bos() const override;
  std::string kind() const override { return p_.kind; }
  size_t added_token_count() const override { return p_.added.size(); }

 private:
  void encode_into(std::string_view text, std::vector<int32_t>* out) const;
  // Pre-tokenizes and BPE-encodes normalised text free of added tokens.
  void encode_plain(std::string_view text, std::vector<int32_t>* out) const;

  BpePipeline p_;
  int32_t vocab_size_ = 0;
};

}  // namespace ivl::tok
