// load_tokenizer(): picks the file set a checkpoint ships (see tokenizer.h for the order).
#include "tokenizer/loaders.h"
#include "tokenizer/tokenizer.h"

namespace ivl::tok {
namespace fs = std::filesystem;

Result<std::unique_ptr<Tokenizer>> load_tokenizer(const fs::path& model_dir) {
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec)) {
    return Status::not_found(model_dir.string() +
                             ": not a directory (expected a model directory "
                             "with the tokenizer files)");
  }
  auto has = [&](const char* name) { return fs::exists(model_dir / name, ec); };

  if (has("tokenizer.json")) {
    auto result = load_tokenizer_json(model_dir);
    // A tokenizer.json whose pipeline is not byte-level BPE (e.g. a Llama-style SentencePiece
    // conversion) describes the same tokenizer as a tokenizer.model next to it.
    if (result.ok() || result.status().code() != StatusCode::kUnsupported ||
        !has("tokenizer.model")) {
      return result;
    }
    return load_sentencepiece(model_dir);
  }
  if (has("vocab.json") || has("merges.txt")) {
    if (!has("vocab.json") || !has("merges.txt")) {
      return Status::not_found(
          model_dir.string() + ": has " +
          (has("vocab.json") ? "vocab.json but no merges.txt" : "merges.txt but no vocab.json") +
          "; a BPE tokenizer needs both");
    }
    return load_vocab_merges(model_dir);
  }
  if (has("tokenizer.model")) return load_sentencepiece(model_dir);
  return Status::not_found(model_dir.string() +
                           ": no tokenizer found; expected one of: tokenizer.json; vocab.json + "
                           "merges.txt (+ added_tokens.json, tokenizer_config.json); "
                           "tokenizer.model (SentencePiece)");
}

}  // namespace ivl::tok
