// Test-only encoders: they write image files in the layouts the decoders must read, from
// pixels the test chooses, so lossless formats can be compared with what was encoded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "vision/image.h"

namespace ivl::vision::test {

using Bytes = std::vector<std::byte>;

// A deterministic image with gradients, edges and noise (a stand-in for a photo).
RgbImage synthetic_image(int width, int height, uint32_t seed = 1);

// PNG via libpng. `samples` holds rows of `channels` samples of `bit_depth` bits (16-bit
// samples are given as uint16 values); color_type is a PNG_COLOR_TYPE_*; palette entries are
// RGB triplets; trns (optional) is written as a tRNS chunk verbatim.
struct PngSpec {
  int width = 0, height = 0, bit_depth = 8, color_type = 2;
  bool interlaced = false;
  std::vector<uint16_t> samples;  // width * height * channels, row-major
  std::vector<uint8_t> palette;   // for palette images
  std::vector<uint8_t> trns;
};
Bytes encode_png_spec(const PngSpec& spec);

// Lossless WebP (RGB, or RGBA when alpha is given: width*height bytes).
Bytes encode_webp_lossless(const RgbImage& image, const std::vector<uint8_t>& alpha = {});
Bytes encode_webp_lossy(const RgbImage& image, float quality);

// JPEG via TurboJPEG. subsampling: TJSAMP_*; cmyk: `pixels` are 4-channel CMYK, else RGB.
Bytes encode_jpeg(const uint8_t* pixels, int width, int height, bool cmyk, int subsampling,
                  int quality, bool progressive = false);

// GIF via giflib: one frame at (left, top) on a screen, palette of RGB triplets (2^n entries).
struct GifSpec {
  int screen_w = 0, screen_h = 0;
  int left = 0, top = 0, width = 0, height = 0;
  bool interlaced = false;
  bool local_palette = false;
  std::vector<uint8_t> palette;  // RGB triplets; size must be a power of two >= 2 entries
  std::vector<uint8_t> indices;  // width * height
  int transparent_index = -1;
  int extra_frames = 0;  // further frames (all index 0) after the first
};
Bytes encode_gif(const GifSpec& spec);

// BMP written byte by byte. bits: 1, 4, 8 (palette), 16, 24, 32; for 16/32 with masks set,
// BI_BITFIELDS with a 40-byte header + 3 masks (or a 108-byte V4 header when alpha_mask != 0
// or v4 is set).
struct BmpSpec {
  int width = 0, height = 0, bits = 24;
  bool top_down = false;
  bool v4 = false;
  std::vector<uint8_t> palette;  // RGB triplets
  std::vector<uint32_t> pixels;  // palette index, or packed value already in file layout
  uint32_t masks[4] = {0, 0, 0, 0};
  bool bitfields = false;
};
Bytes encode_bmp(const BmpSpec& spec);

// sha256 hex of bytes.
std::string sha256_of(const uint8_t* data, size_t size);

}  // namespace ivl::vision::test
