#include "vision/image_source.h"

#include <array>

#include "core/mapped_file.h"

namespace ivl::vision {
namespace {

constexpr std::array<int8_t, 256> make_base64_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::vector<std::byte>> percent_decode(std::string_view text) {
  std::vector<std::byte> out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(static_cast<std::byte>(text[i]));
      continue;
    }
    const bool complete = i + 2 < text.size();
    const int hi = complete ? hex_value(text[i + 1]) : -1;
    const int lo = complete ? hex_value(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::invalid_argument("bad percent escape at offset " + std::to_string(i));
    }
    out.push_back(static_cast<std::byte>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace

Result<std::vector<std::byte>> decode_base64(std::string_view text) {
  static constexpr std::array<int8_t, 256> kTable = make_base64_table();
  std::vector<std::byte> out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t symbols = 0, padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (is_space(c)) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    int v = kTable[static_cast<uint8_t>(c)];
    if (v < 0 || padding > 0) {
      std::string shown = (c >= 0x21 && c <= 0x7e) ? std::string("'") + c + "'"
                                                   : "byte " + std::to_string(uint8_t(c));
      return Status::invalid_argument(
          "malformed base64: " +
          (padding > 0 ? "data after '=' padding" : "invalid character " + shown) + " at offset " +
          std::to_string(i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    ++symbols;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::byte>((acc >> bits) & 0xFF));
    }
  }
  if (symbols % 4 == 1) {
    return Status::invalid_argument("malformed base64: " + std::to_string(symbols) +
                                    " symbols cannot encode whole bytes (truncated?)");
  }
  if (padding > 0 && (symbols + padding) % 4 != 0) {
    return Status::invalid_argument("malformed base64: wrong amount of '=' padding");
  }
  if (padding > 2) return Status::invalid_argument("malformed base64: more than two '='");
  return out;
}

Result<RgbImage> load_image_bytes(std::span<const std::byte> bytes, const DecodeLimits& limits,
                                  std::string_view name) {
  return decode_image(bytes, limits, name);
}

Result<RgbImage> load_image_file(const std::string& path, const DecodeLimits& limits) {
  IVL_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  return decode_image(file->bytes(), limits, path);
}

Result<RgbImage> load_image_data_uri(std::string_view uri, const DecodeLimits& limits) {
  constexpr std::string_view kScheme = "data:";
  if (uri.size() < kScheme.size() || uri.substr(0, kScheme.size()) != kScheme) {
    return Status::invalid_argument("not a data: URI");
  }
  const size_t comma = uri.find(',');
  if (comma == std::string_view::npos) {
    return Status::invalid_argument("malformed data: URI: no ',' before the payload");
  }
  std::string_view meta = uri.substr(kScheme.size(), comma - kScheme.size());
  std::string_view payload = uri.substr(comma + 1);
  constexpr std::string_view kBase64 = ";base64";
  const bool base64 =
      meta.size() >= kBase64.size() && meta.substr(meta.size() - kBase64.size()) == kBase64;
  std::string media(base64 ? meta.substr(0, meta.size() - kBase64.size()) : meta);
  std::string name = "data: URI (" + (media.empty() ? std::string("no media type") : media) + ")";
  auto decoded = base64 ? decode_base64(payload) : percent_decode(payload);
  if (!decoded.ok()) return decoded.status().with_context(name);
  return decode_image(*decoded, limits, name);
}

Result<RgbImage> load_image(std::string_view path_or_uri, const DecodeLimits& limits) {
  if (path_or_uri.substr(0, 5) == "data:") return load_image_data_uri(path_or_uri, limits);
  return load_image_file(std::string(path_or_uri), limits);
}

}  // namespace ivl::vision
