#include "vision/decode.h"

#include <cstring>

#include "vision/decode_internal.h"

namespace ivl::vision {
namespace {

bool starts_with(std::span<const std::byte> bytes, size_t offset, std::string_view magic) {
  if (bytes.size() < offset + magic.size()) return false;
  return std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
}

std::string hex_prefix(std::span<const std::byte> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < 8; ++i) {
    auto b = static_cast<unsigned>(bytes[i]);
    if (i > 0) out += ' ';
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace

std::string_view image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kWebp:
      return "WebP";
    case ImageFormat::kBmp:
      return "BMP";
    case ImageFormat::kGif:
      return "GIF";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

ImageFormat sniff_image_format(std::span<const std::byte> bytes) {
  if (starts_with(bytes, 0, "\xFF\xD8\xFF")) return ImageFormat::kJpeg;
  if (starts_with(bytes, 0, "\x89PNG\r\n\x1A\n")) return ImageFormat::kPng;
  if (starts_with(bytes, 0, "RIFF") && starts_with(bytes, 8, "WEBP")) return ImageFormat::kWebp;
  if (starts_with(bytes, 0, "GIF87a") || starts_with(bytes, 0, "GIF89a")) return ImageFormat::kGif;
  if (starts_with(bytes, 0, "BM")) return ImageFormat::kBmp;
  return ImageFormat::kUnknown;
}

Result<RgbImage> decode_image(std::span<const std::byte> bytes, const DecodeLimits& limits,
                              std::string_view name) {
  std::string prefix(name);
  if (bytes.empty()) {
    return Status::invalid_argument(prefix + ": empty input (0 bytes), not an image");
  }
  ImageFormat format = sniff_image_format(bytes);
  Result<RgbImage> result = Status::internal("unreachable");
  switch (format) {
    case ImageFormat::kJpeg:
      result = detail::decode_jpeg(bytes, limits);
      break;
    case ImageFormat::kPng:
      result = detail::decode_png(bytes, limits);
      break;
    case ImageFormat::kWebp:
      result = detail::decode_webp(bytes, limits);
      break;
    case ImageFormat::kBmp:
      result = detail::decode_bmp(bytes, limits);
      break;
    case ImageFormat::kGif:
      result = detail::decode_gif(bytes, limits);
      break;
    case ImageFormat::kUnknown:
      return Status::unsupported(prefix +
                                 ": unknown image format (first bytes: " + hex_prefix(bytes) +
                                 "); supported formats are JPEG, PNG, WebP, BMP and GIF");
  }
  if (!result.ok()) return result.status().with_context(prefix);
  return result;
}

namespace detail {

Status check_dimensions(std::string_view format, int64_t width, int64_t height,
                        const DecodeLimits& limits) {
  std::string f(format);
  if (width <= 0 || height <= 0) {
    return Status::corrupt(f + " header declares an empty image (" + std::to_string(width) + "x" +
                           std::to_string(height) + ")");
  }
  // Both factors fit in 32 bits in every format we read, so the product cannot overflow.
  uint64_t pixels = static_cast<uint64_t>(width) * static_cast<uint64_t>(height);
  if (width > (int64_t{1} << 31) - 1 || height > (int64_t{1} << 31) - 1 ||
      pixels > limits.max_pixels) {
    return Status::out_of_range(f + " image is " + std::to_string(width) + "x" +
                                std::to_string(height) + " = " + std::to_string(pixels) +
                                " pixels, over the limit of " + std::to_string(limits.max_pixels) +
                                " pixels (DecodeLimits::max_pixels)");
  }
  return Status::ok_status();
}

}  // namespace detail
}  // namespace ivl::vision
