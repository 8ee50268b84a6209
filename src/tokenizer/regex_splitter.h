// The regex step of a pre-tokenizer (Hugging Face `Split` with behaviour "Isolated"): every
// match of the pattern becomes its own piece, and so does every stretch of text between two
// matches. Compiled once with PCRE2 (UTF + UCP, JIT when the platform has it), verbatim: PCRE2
// supports the look-ahead, \p{..} classes and scoped (?i:..) groups the Qwen pattern uses.
//
// Copyable (the compiled pattern is shared, read-only); split() is thread-safe (each thread
// uses its own PCRE2 match data and JIT stack).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "ivl/status.h"

namespace ivl::tok {

// The pre-tokenizer pattern of the Qwen2/2.5/3 tokenizers.
inline constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// The GPT-2 pattern (ByteLevel pre-tokenizer with use_regex=true).
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class RegexSplitter {
 public:
  // kCorruptData naming `source` and PCRE2's message/offset when the pattern does not compile.
  static Result<RegexSplitter> compile(std::string_view pattern, std::string_view source);

  // Appends the pieces of `text` as [begin, end) offsets into it, in order, none empty,
  // together covering it. `text` must be valid UTF-8 (not checked again here).
  void split(std::string_view text, std::vector<std::pair<size_t, size_t>>* pieces) const;

 private:
  struct Code;
  explicit RegexSplitter(std::shared_ptr<const Code> code) : code_(std::move(code)) {}
  std::shared_ptr<const Code> code_;
};

}  // namespace ivl::tok
