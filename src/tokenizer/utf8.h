// UTF-8 helpers shared by the tokenizers: validation, lossy repair with the same replacement
// rule as Rust's String::from_utf8_lossy and Python's errors="replace" (one U+FFFD per maximal
// invalid subpart), code point iteration and the two Unicode character classes the Hugging Face
// added-token matcher uses. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ivl::tok {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Appends `bytes` to `out`, replacing each maximal invalid subpart by U+FFFD.
void append_lossy_utf8(std::string_view bytes, std::string* out);
std::string lossy_utf8(std::string_view bytes);

// Decodes the code point starting at s[i] of VALID UTF-8 and returns its byte length.
size_t decode_utf8(std::string_view s, size_t i, char32_t* cp);

void append_utf8(char32_t cp, std::string* out);

// Unicode White_Space (what Rust's char::is_whitespace and regex `\s` match).
bool is_white_space(char32_t cp);

// Rust regex `\w`: Alphabetic | Mark | Decimal_Number | Connector_Punctuation | Join_Control.
// Alphabetic is approximated by the letter categories, Nl and the Other_Alphabetic symbols
// (circled/squared Latin letters); other Other_Alphabetic code points are marks anyway.
bool is_word_char(char32_t cp);

}  // namespace ivl::tok
