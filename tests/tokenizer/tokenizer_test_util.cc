#include "tokenizer_test_util.h"

#include <cstdio>
#include <fstream>
#include <mutex>

#include "tokenizer/utf8.h"

namespace ivl::tok::testing {

std::string escape(std::string_view s) {
  std::string out;
  size_t i = 0;
  char buf[16];
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0x20 && b < 0x7F && b != '\\') {
      out.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    if (b == '\\') {
      out += "\\\\";
      ++i;
      continue;
    }
    if (b == '\n' || b == '\r' || b == '\t') {
      out += b == '\n' ? "\\n" : b == '\r' ? "\\r" : "\\t";
      ++i;
      continue;
    }
    // Only decode a code point when the sequence is valid.
    size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    if (i + len <= s.size() && is_valid_utf8(s.substr(i, len))) {
      char32_t cp = 0;
      decode_utf8(s, i, &cp);
      std::snprintf(buf, sizeof(buf), "\\u{%04X}", static_cast<unsigned>(cp));
      i += len;
    } else {
      std::snprintf(buf, sizeof(buf), "\\x%02X", b);
      ++i;
    }
    out += buf;
  }
  return out;
}

std::string format_ids(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(ids[i]);
  }
  return out + "]";
}

const Tokenizer& fixture_tokenizer(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(name);
  if (it != cache.end()) return *it->second;
  auto loaded = load_tokenizer(ivl::test::fixture("models/" + name));
  if (!loaded.ok()) {
    throw std::runtime_error("cannot load the tokenizer of " + name + ": " +
                             loaded.status().to_string());
  }
  return *cache.emplace(name, std::move(loaded).value()).first->second;
}

void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace ivl::tok::testing
