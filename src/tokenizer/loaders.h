// One loader per accepted file set; load_tokenizer() (load_tokenizer.cc) picks among them.
// Each returns errors that name the file; kUnsupported means "well-formed, but a pipeline this
// library does not implement" (e.g. a WordPiece tokenizer.json).
#pragma once

#include <filesystem>
#include <memory>

#include "ivl/status.h"
#include "tokenizer/tokenizer.h"

namespace ivl::tok {

// tokenizer.json (+ optional tokenizer_config.json for the BOS/EOS names).
Result<std::unique_ptr<Tokenizer>> load_tokenizer_json(const std::filesystem::path& dir);

// vocab.json + merges.txt (+ optional added_tokens.json, tokenizer_config.json,
// special_tokens_map.json).
Result<std::unique_ptr<Tokenizer>> load_vocab_merges(const std::filesystem::path& dir);

// tokenizer.model (+ optional added_tokens.json, tokenizer_config.json).
Result<std::unique_ptr<Tokenizer>> load_sentencepiece(const std::filesystem::path& dir);

}  // namespace ivl::tok
