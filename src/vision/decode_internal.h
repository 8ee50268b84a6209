// Per-format decoders behind decode_image() (decode.h), and the checks they share. Each
// decode_* function receives non-empty bytes whose signature matched its format, and returns
// errors WITHOUT the name prefix (decode_image adds it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ivl/status.h"
#include "vision/decode.h"
#include "vision/image.h"

namespace ivl::vision::detail {

Result<RgbImage> decode_jpeg(std::span<const std::byte> bytes, const DecodeLimits& limits);
Result<RgbImage> decode_png(std::span<const std::byte> bytes, const DecodeLimits& limits);
Result<RgbImage> decode_webp(std::span<const std::byte> bytes, const DecodeLimits& limits);
Result<RgbImage> decode_bmp(std::span<const std::byte> bytes, const DecodeLimits& limits);
Result<RgbImage> decode_gif(std::span<const std::byte> bytes, const DecodeLimits& limits);

// OK when 1 <= width, height and width * height <= limits.max_pixels; otherwise kCorruptData
// (zero or negative sizes) or kOutOfRange (too many pixels), naming the format and the size.
Status check_dimensions(std::string_view format, int64_t width, int64_t height,
                        const DecodeLimits& limits);

}  // namespace ivl::vision::detail
