// Tokenizers of the language models InternVL uses: byte-level BPE (Qwen2/2.5/3, from
// tokenizer.json or from vocab.json + merges.txt) and SentencePiece (InternLM2's
// tokenizer.model). Token ids are exactly those of Hugging Face `tokenizer(text)`.
//
// Thread safety: a Tokenizer is immutable after load_tokenizer(); every const method may be
// called from any number of threads at once (the BPE word cache is kept per thread, so
// concurrent encoders share nothing mutable and take no locks).
// A StreamDecoder is a small per-stream object: one thread at a time.
//
// Text in: UTF-8. Malformed UTF-8 input is first repaired by replacing each maximal invalid
// subpart with U+FFFD (what Python would do when decoding such bytes with errors="replace").
// Text out: always valid UTF-8; byte sequences that tokens spell but that are not valid UTF-8
// become U+FFFD, as Hugging Face does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ivl/status.h"

namespace ivl::tok {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Ids exactly as Hugging Face `tokenizer(text)` gives them for this checkpoint, including
  // the BOS rule (tokenizer.json post-processor / tokenizer_config.json add_bos_token).
  // Added and special tokens written in the text are matched as single tokens.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;

  // Like encode() but without anything the post-processor adds (no BOS/EOS), i.e.
  // `tokenizer(text, add_special_tokens=False)`. Added tokens in the text are still matched.
  // For prompts rendered from chat templates, which spell their special tokens out.
  virtual std::vector<int32_t> encode_without_special(std::string_view text) const = 0;

  // Like Hugging Face tokenizer.decode(ids, skip_special_tokens=...). Ids that are neither in
  // the vocabulary nor added tokens render as nothing (Hugging Face drops them too).
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const = 0;

  // Vocabulary entry or added token, as spelled in the tokenizer files (for byte-level BPE
  // that is the ByteLevel alphabet, e.g. "Ġhello"; for SentencePiece "▁hello").
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual std::optional<std::string> id_to_token(int32_t id) const = 0;

  // Max id + 1 over the vocabulary and the added tokens.
  virtual int32_t vocab_size() const = 0;
  // True for added tokens flagged special (skipped by decode(..., true)); for SentencePiece
  // also the control and unknown pieces (<s>, </s>, <unk>).
  virtual bool is_special(int32_t id) const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;
  // Whether encode() puts bos_id() first.
  virtual bool adds_bos() const = 0;
  // "byte-level BPE (tokenizer.json)", "byte-level BPE (vocab.json + merges.txt)" or
  // "SentencePiece (tokenizer.model)".
  virtual std::string kind() const = 0;
  virtual size_t added_token_count() const = 0;
};

// Loads the tokenizer a checkpoint directory ships. Accepted file sets, first match wins:
//  1. tokenizer.json (Hugging Face `tokenizers` format; tokenizer_config.json, when present,
//     names the BOS/EOS tokens). If its pipeline is not a byte-level BPE this library
//     implements and a tokenizer.model is present, that is used instead.
//  2. vocab.json + merges.txt (+ optional added_tokens.json, tokenizer_config.json,
//     special_tokens_map.json): the Qwen2Tokenizer (or GPT2Tokenizer) "slow" form.
//  3. tokenizer.model (SentencePiece) + optional added_tokens.json, tokenizer_config.json.
// Errors name the directory or file; with none of the sets present it is kNotFound listing
// the accepted sets.
Result<std::unique_ptr<Tokenizer>> load_tokenizer(const std::filesystem::path& model_dir);

// Incremental detokenizer for streaming generation: push ids one at a time and get the text
// that is now final. Text whose last character might still change (an incomplete UTF-8
// sequence, which decodes to a trailing U+FFFD) is held back until a later token completes it;
// flush() releases what is left (an incomplete sequence then becomes U+FFFD). The
// concatenation of every push() result and flush() equals tokenizer.decode(all ids).
//
// It decodes a small window of recent ids per push (the ids since the last emitted text plus
// those before it back to the previous emission), so each push is O(window), and a
// SentencePiece word-initial space is rendered correctly. The Tokenizer must outlive it.
// Not thread-safe (one stream, one thread at a time).
class StreamDecoder {
 public:
  StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens);

  std::string push(int32_t id);
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::vector<int32_t> ids_;  // the window; the text of ids_[0, read_) was already returned
  size_t read_ = 0;
  size_t prefix_bytes_ = 0;  // decode(ids_[0, read_)).size()
};

}  // namespace ivl::tok
