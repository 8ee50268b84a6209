// Image decoding: bytes of a JPEG, PNG, WebP, BMP or GIF file -> RgbImage, pixel-identical to
// what the reference loader gets from `PIL.Image.open(f).convert("RGB")` (Pillow 9.4 / 12.x
// with libjpeg-turbo).
//
// What "as PIL does" means here (each decoder file cites the Pillow behaviour it reproduces):
//  - JPEG: libjpeg-turbo with its default ISLOW IDCT and fancy upsampling (Pillow's settings);
//    grayscale is replicated to RGB; 4-channel CMYK/YCCK files are read as Adobe-inverted CMYK
//    and converted with Pillow's cmyk2rgb formula.
//  - PNG: 16-bit samples keep their high byte; 16-bit grayscale saturates at 255 (Pillow reads
//    it as mode "I" and clips when converting); palette and low-bit-depth gray are expanded.
//  - Alpha is dropped, never composited; tRNS transparency is ignored; EXIF orientation and
//    gamma/ICC are not applied (the reference applies none of them).
//  - GIF: the first frame on the logical screen (Pillow's frame-0 rules); BMP: the layouts
//    Pillow reads (1/4/8-bit palette, 16/24/32-bit, BITFIELDS, RLE8/RLE4).
//
// Limits (decompression-bomb safety): the pixel count (width x height) is read from the file
// header and checked against DecodeLimits::max_pixels BEFORE any pixel buffer is allocated;
// an image over the limit is kOutOfRange. Truncated or corrupt data is kCorruptData, an
// unknown signature or an unsupported variant kUnsupported, empty input kInvalidArgument.
// Every message starts with the `name` given by the caller (a path, "data: URI", ...).
//
// Thread safety: all functions are reentrant; no global state is touched (library error
// handlers are installed per call).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ivl/status.h"
#include "vision/image.h"

namespace ivl::vision {

// 64 Mi pixels: above every common camera resolution (a 50 MP phone photo is 8160 x 6120) while
// bounding one decode at ~200 MB of RGB. Pillow's own bomb limit is ~179 MP (2 x 89.5 MP).
inline constexpr uint64_t kDefaultMaxPixels = uint64_t{64} << 20;

struct DecodeLimits {
  uint64_t max_pixels = kDefaultMaxPixels;  // width * height of the decoded image
};

enum class ImageFormat { kUnknown, kJpeg, kPng, kWebp, kBmp, kGif };

std::string_view image_format_name(ImageFormat format);

// The format named by the file's signature (magic bytes); kUnknown when none matches.
ImageFormat sniff_image_format(std::span<const std::byte> bytes);

// Decodes a whole image file held in memory. `name` prefixes every error message.
Result<RgbImage> decode_image(std::span<const std::byte> bytes, const DecodeLimits& limits = {},
                              std::string_view name = "image");

}  // namespace ivl::vision
