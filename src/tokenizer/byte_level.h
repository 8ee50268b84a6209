// The GPT-2 / Hugging Face "ByteLevel" alphabet: every byte value is written as one printable
// code point (printable Latin-1 bytes stand for themselves, the other 68 bytes map to U+0100..
// U+0143), so that BPE vocabularies can be stored as text. Tables are built once, at compile
// time; everything here is thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ivl::tok {

// The code point that stands for byte `b`.
char32_t byte_to_char(uint8_t b);

// Appends the ByteLevel form of raw `bytes` (each byte becomes its code point, UTF-8 encoded).
void append_byte_level(std::string_view bytes, std::string* out);

// Inverse mapping as the Hugging Face ByteLevel decoder does it: when every code point of
// `token` belongs to the alphabet, appends the bytes they stand for and returns true;
// otherwise (e.g. an added token such as "<|im_end|> x" with a plain space) appends the
// token's own UTF-8 bytes unchanged and returns false. `token` must be valid UTF-8.
bool append_byte_level_decoded(std::string_view token, std::string* out);

}  // namespace ivl::tok
