#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace ivl::tok {
namespace {

constexpr bool stands_for_itself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

constexpr std::array<char32_t, 256> make_byte_to_char() {
  std::array<char32_t, 256> table{};
  char32_t next = 0x100;
  for (int b = 0; b < 256; ++b) table[b] = stands_for_itself(b) ? char32_t(b) : next++;
  return table;
}

constexpr char32_t kAlphabetEnd = 0x100 + 68;  // one past the highest mapped code point

constexpr std::array<int16_t, kAlphabetEnd> make_char_to_byte() {
  std::array<int16_t, kAlphabetEnd> table{};
  for (auto& v : table) v = -1;
  const auto forward = make_byte_to_char();
  for (int b = 0; b < 256; ++b) table[forward[b]] = static_cast<int16_t>(b);
  return table;
}

constexpr std::array<char32_t, 256> kByteToChar = make_byte_to_char();
constexpr std::array<int16_t, kAlphabetEnd> kCharToByte = make_char_to_byte();

}  // namespace

char32_t byte_to_char(uint8_t b) {
  return kByteToChar[b];
}

void append_byte_level(std::string_view bytes, std::string* out) {
  for (char c : bytes) append_utf8(kByteToChar[static_cast<uint8_t>(c)], out);
}

bool append_byte_level_decoded(std::string_view token, std::string* out) {
  const size_t start = out->size();
  size_t i = 0;
  while (i < token.size()) {
    char32_t cp = 0;
    i += decode_utf8(token, i, &cp);
    if (cp >= kAlphabetEnd || kCharToByte[cp] < 0) {
      out->resize(start);
      out->append(token);
      return false;
    }
    out->push_back(static_cast<char>(kCharToByte[cp]));
  }
  return true;
}

}  // namespace ivl::tok
