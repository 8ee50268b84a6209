// BMP, written by hand after Pillow's BmpImagePlugin (the layouts it accepts, its unpackers):
//  - headers of 12 (OS/2 core), 40, 64, 108 and 124 bytes; a negative height means top-down;
//  - 1/4/8-bit palettes (BGR for core headers, BGRX otherwise), RLE8 and RLE4;
//  - 16-bit 5-5-5 (and 5-6-5 via BITFIELDS), scaled as Pillow's BGR;15/BGR;16 unpackers do
//    (v * 255 / 31, integer division); 24-bit BGR; 32-bit BGRX and the BITFIELDS masks Pillow
//    lists (alpha dropped);
//  - palette indices past the palette read Pillow's default palette entry (i, i, i).
// Rows are stored bottom-up with 4-byte alignment; missing pixel data is an error (Pillow
// refuses truncated files).
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "vision/decode_internal.h"

namespace ivl::vision::detail {
namespace {

uint32_t u16_at(std::span<const std::byte> b, size_t o) {
  return static_cast<uint32_t>(b[o]) | static_cast<uint32_t>(b[o + 1]) << 8;
}
uint32_t u32_at(std::span<const std::byte> b, size_t o) {
  return u16_at(b, o) | u16_at(b, o + 2) << 16;
}

enum class Layout { kPalette, kBgr15, kBgr16, kBgr24, kBytes32 };

struct BmpHeader {
  int64_t width = 0, height = 0;
  bool top_down = false;
  int bits = 0;
  uint32_t compression = 0;  // 0 raw, 1 RLE8, 2 RLE4, 3 BITFIELDS
  uint64_t colors = 0;
  size_t palette_offset = 0, palette_entry = 4, data_offset = 0;
  Layout layout = Layout::kPalette;
  std::array<int, 3> byte_of_rgb = {2, 1, 0};  // 32-bit: byte index of R, G, B in a pixel
};

constexpr uint32_t kRaw = 0, kRle8 = 1, kRle4 = 2, kBitfields = 3;

Status parse_masks(const BmpHeader& h, std::array<uint32_t, 4> m, BmpHeader* out) {
  struct Known {
    int bits;
    std::array<uint32_t, 4> mask;
    Layout layout;
    std::array<int, 3> rgb;
  };
  // Pillow's SUPPORTED / MASK_MODES tables (alpha masks matter only for 32 bits).
  static constexpr Known kKnown[] = {
      {32, {0xFF0000, 0xFF00, 0xFF, 0}, Layout::kBytes32, {2, 1, 0}},           // BGRX
      {32, {0xFF000000, 0xFF0000, 0xFF00, 0}, Layout::kBytes32, {3, 2, 1}},     // XBGR
      {32, {0xFF000000, 0xFF0000, 0xFF00, 0xFF}, Layout::kBytes32, {3, 2, 1}},  // ABGR
      {32, {0xFF, 0xFF00, 0xFF0000, 0xFF000000}, Layout::kBytes32, {0, 1, 2}},  // RGBA
      {32, {0xFF0000, 0xFF00, 0xFF, 0xFF000000}, Layout::kBytes32, {2, 1, 0}},  // BGRA
      {32, {0, 0, 0, 0}, Layout::kBytes32, {2, 1, 0}},                          // BGRA
      {24, {0xFF0000, 0xFF00, 0xFF, 0}, Layout::kBgr24, {2, 1, 0}},             // BGR
      {16, {0xF800, 0x7E0, 0x1F, 0}, Layout::kBgr16, {}},                       // BGR;16
      {16, {0x7C00, 0x3E0, 0x1F, 0}, Layout::kBgr15, {}},                       // BGR;15
  };
  if (h.bits != 32) m[3] = 0;
  for (const Known& k : kKnown) {
    if (k.bits == h.bits && k.mask == m) {
      out->layout = k.layout;
      out->byte_of_rgb = k.rgb;
      return Status::ok_status();
    }
  }
  return Status::unsupported("BMP bitfields layout not supported (" + std::to_string(h.bits) +
                             "-bit, masks as Pillow accepts only)");
}

Result<BmpHeader> parse_header(std::span<const std::byte> b) {
  if (b.size() < 18) return Status::corrupt("truncated BMP header");
  BmpHeader h;
  const uint32_t header_size = u32_at(b, 14);
  if (header_size != 12 && header_size != 40 && header_size != 64 && header_size != 108 &&
      header_size != 124) {
    return Status::unsupported("BMP header of " + std::to_string(header_size) +
                               " bytes (supported: 12, 40, 64, 108, 124)");
  }
  if (b.size() < 14 + size_t{header_size}) return Status::corrupt("truncated BMP header");
  h.data_offset = u32_at(b, 10);
  h.palette_offset = 14 + header_size;
  std::array<uint32_t, 4> masks{};
  if (header_size == 12) {
    h.width = u16_at(b, 18);
    h.height = u16_at(b, 20);
    h.bits = static_cast<int>(u16_at(b, 24));
    h.palette_entry = 3;
  } else {
    h.width = u32_at(b, 18);  // Pillow reads it unsigned: a "negative" width is just huge
    uint32_t raw_height = u32_at(b, 22);
    h.top_down = static_cast<uint8_t>(b[25]) == 0xFF;
    h.height = h.top_down ? (int64_t{1} << 32) - raw_height : raw_height;
    h.bits = static_cast<int>(u16_at(b, 28));
    h.compression = u32_at(b, 30);
    h.colors = u32_at(b, 46);
    if (h.compression == kBitfields) {
      // The masks follow the 40-byte fields: inside a larger header (with an alpha mask), or
      // right after a 40-byte one (three masks; Pillow takes alpha as 0).
      const int n_masks = header_size >= 56 ? 4 : 3;
      if (b.size() < 54 + 4 * size_t(n_masks)) {
        return Status::corrupt("truncated BMP bitfield masks");
      }
      for (int i = 0; i < n_masks; ++i) masks[i] = u32_at(b, 54 + 4 * size_t(i));
    }
  }
  if (h.colors == 0 && h.bits <= 16) h.colors = uint64_t{1} << h.bits;
  if (h.data_offset == 14 + header_size && h.bits <= 8) h.data_offset += 4 * h.colors;
  switch (h.bits) {
    case 1:
    case 4:
    case 8:
      h.layout = Layout::kPalette;
      break;
    case 16:
      h.layout = Layout::kBgr15;
      break;
    case 24:
      h.layout = Layout::kBgr24;
      break;
    case 32:
      h.layout = Layout::kBytes32;
      break;
    default:
      return Status::unsupported("BMP pixel depth of " + std::to_string(h.bits) + " bits");
  }
  if (h.compression == kBitfields) {
    if (h.bits < 16) return Status::unsupported("BMP bitfields layout on a palette image");
    IVL_RETURN_IF_ERROR(parse_masks(h, masks, &h));
  } else if (h.compression == kRle8 || h.compression == kRle4) {
    if (h.bits != (h.compression == kRle8 ? 8 : 4)) {
      return Status::corrupt("BMP RLE compression does not match the pixel depth");
    }
  } else if (h.compression != kRaw) {
    return Status::unsupported("BMP compression " + std::to_string(h.compression) +
                               " (JPEG/PNG-in-BMP are not supported)");
  }
  if (h.layout == Layout::kPalette && (h.colors == 0 || h.colors > 65536)) {
    return Status::corrupt("BMP palette size " + std::to_string(h.colors) + " is invalid");
  }
  return h;
}

// Pillow's palette: the file's entries, then its default entries (i, i, i) up to 256.
std::array<std::array<uint8_t, 3>, 256> read_palette(std::span<const std::byte> b,
                                                     const BmpHeader& h) {
  std::array<std::array<uint8_t, 3>, 256> pal;
  for (int i = 0; i < 256; ++i) {
    auto v = static_cast<uint8_t>(i);
    pal[i] = {v, v, v};
  }
  const size_t n = std::min<uint64_t>(h.colors, 256);
  for (size_t i = 0; i < n; ++i) {
    size_t o = h.palette_offset + i * h.palette_entry;
    pal[i] = {static_cast<uint8_t>(b[o + 2]), static_cast<uint8_t>(b[o + 1]),
              static_cast<uint8_t>(b[o])};
  }
  return pal;
}

// RLE8/RLE4 into one index per pixel, rows in file order. Follows Pillow's BmpRleDecoder:
// runs are clipped at the row end, end-of-line pads the row with index 0, and data that ends
// before every pixel is written is an error.
Status decode_rle(std::span<const std::byte> b, const BmpHeader& h, std::vector<uint8_t>* out) {
  const size_t w = static_cast<size_t>(h.width);
  const size_t total = w * static_cast<size_t>(h.height);
  out->assign(total, 0);
  const bool rle4 = h.compression == kRle4;
  size_t pos = h.data_offset, written = 0, x = 0;
  auto put = [&](uint8_t v) {
    if (written < total) (*out)[written] = v;
    ++written;
  };
  while (written < total) {
    if (pos + 2 > b.size()) break;
    const auto count = static_cast<uint8_t>(b[pos]);
    const auto value = static_cast<uint8_t>(b[pos + 1]);
    pos += 2;
    if (count != 0) {
      size_t n = std::min<size_t>(count, w > x ? w - x : 0);
      for (size_t i = 0; i < n; ++i) put(rle4 ? (i % 2 == 0 ? value >> 4 : value & 15) : value);
      x += n;
    } else if (value == 0) {  // end of line
      while (written % w != 0) put(0);
      x = 0;
    } else if (value == 1) {  // end of bitmap
      break;
    } else if (value == 2) {  // delta: skip right/up pixels (left as index 0)
      if (pos + 2 > b.size()) break;
      size_t skip = static_cast<uint8_t>(b[pos]) + static_cast<uint8_t>(b[pos + 1]) * w;
      pos += 2;
      written = std::min(total, written + skip);
      x = written % w;
    } else {  // absolute run of `value` pixels, padded to a 16-bit boundary
      const size_t n = value;
      const size_t nbytes = rle4 ? (n + 1) / 2 : n;
      if (pos + nbytes > b.size()) break;
      for (size_t i = 0; i < n; ++i) {
        auto byte = static_cast<uint8_t>(b[pos + (rle4 ? i / 2 : i)]);
        put(rle4 ? (i % 2 == 0 ? byte >> 4 : byte & 15) : byte);
      }
      x += n;
      pos += nbytes + (nbytes & 1);
    }
  }
  if (written < total) return Status::corrupt("truncated BMP RLE data");
  return Status::ok_status();
}

inline uint8_t scale5(uint32_t v) {
  return static_cast<uint8_t>(v * 255 / 31);
}
inline uint8_t scale6(uint32_t v) {
  return static_cast<uint8_t>(v * 255 / 63);
}

}  // namespace

Result<RgbImage> decode_bmp(std::span<const std::byte> b, const DecodeLimits& limits) {
  IVL_ASSIGN_OR_RETURN(BmpHeader h, parse_header(b));
  IVL_RETURN_IF_ERROR(check_dimensions("BMP", h.width, h.height, limits));
  std::array<std::array<uint8_t, 3>, 256> pal{};
  if (h.layout == Layout::kPalette) {
    if (h.palette_offset + std::min<uint64_t>(h.colors, 256) * h.palette_entry > b.size()) {
      return Status::corrupt("truncated BMP palette");
    }
    pal = read_palette(b, h);
  }
  const int width = static_cast<int>(h.width), height = static_cast<int>(h.height);
  const bool rle = h.compression == kRle8 || h.compression == kRle4;
  const size_t stride = rle ? static_cast<size_t>(width)
                            : ((static_cast<size_t>(width) * h.bits + 31) >> 3) & ~size_t{3};
  std::vector<uint8_t> indices;
  const uint8_t* pixels = nullptr;
  if (rle) {
    IVL_RETURN_IF_ERROR(decode_rle(b, h, &indices));
    pixels = indices.data();
  } else {
    if (h.data_offset > b.size() || (b.size() - h.data_offset) / stride < size_t(height)) {
      return Status::corrupt("truncated BMP pixel data (needs " + std::to_string(stride * height) +
                             " bytes at offset " + std::to_string(h.data_offset) + ")");
    }
    pixels = reinterpret_cast<const uint8_t*>(b.data()) + h.data_offset;
  }
  RgbImage image(width, height);
  for (int y = 0; y < height; ++y) {
    const uint8_t* src = pixels + stride * static_cast<size_t>(h.top_down ? y : height - 1 - y);
    uint8_t* dst = image.row(y);
    for (int x = 0; x < width; ++x, dst += 3) {
      switch (h.layout) {
        case Layout::kPalette: {
          int index = 0;
          if (rle || h.bits == 8) {
            index = src[x];
          } else if (h.bits == 4) {
            index = (src[x >> 1] >> (x & 1 ? 0 : 4)) & 15;
          } else {
            index = (src[x >> 3] >> (7 - (x & 7))) & 1;
          }
          std::memcpy(dst, pal[index].data(), 3);
          break;
        }
        case Layout::kBgr15:
        case Layout::kBgr16: {
          uint32_t p = src[2 * x] | uint32_t{src[2 * x + 1]} << 8;
          if (h.layout == Layout::kBgr15) {
            dst[0] = scale5((p >> 10) & 31);
            dst[1] = scale5((p >> 5) & 31);
          } else {
            dst[0] = scale5((p >> 11) & 31);
            dst[1] = scale6((p >> 5) & 63);
          }
          dst[2] = scale5(p & 31);
          break;
        }
        case Layout::kBgr24:
          dst[0] = src[3 * x + 2];
          dst[1] = src[3 * x + 1];
          dst[2] = src[3 * x];
          break;
        case Layout::kBytes32:
          for (int c = 0; c < 3; ++c) dst[c] = src[4 * x + h.byte_of_rgb[c]];
          break;
      }
    }
  }
  return image;
}

}  // namespace ivl::vision::detail
