// PNG through libpng, converted the way Pillow's PngImagePlugin + convert("RGB") do:
//  - 16-bit samples: Pillow's rawmodes "RGB;16B", "RGBA;16B", "LA;16B" keep the high byte
//    (png_set_strip_16 does exactly that, no rounding).
//  - 16-bit grayscale: Pillow opens it as mode "I" ("I;16B") and convert("RGB") clips the value
//    to 0..255, so every sample >= 255 becomes 255 (a quirk we reproduce on purpose).
//  - 1/2/4-bit gray scale to 0..255 (x255, x85, x17); palette indices map to their colours,
//    and indices past the palette to Pillow's default entry (i, i, i).
//  - tRNS transparency is ignored and alpha channels are dropped (convert("RGB") drops alpha
//    without compositing); gAMA/iCCP are not applied (Pillow does not apply them).
// libpng reports errors through a longjmp to the setjmp of the step that called it
// (info_step, transform_step, read_step). The steps hold no C++ objects of their own and the
// jump skips only libpng's C frames; everything with a destructor lives in decode_png().
#include <png.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <vector>

#include "vision/decode_internal.h"

namespace ivl::vision::detail {
namespace {

using Palette = std::array<std::array<uint8_t, 3>, 256>;

struct ReadState {
  std::span<const std::byte> bytes;
  size_t offset = 0;
  char message[256] = {};
};

void on_png_error(png_structp png, png_const_charp msg) {
  auto* state = static_cast<ReadState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof(state->message), "%s", msg);
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

void on_png_read(png_structp png, png_bytep data, png_size_t length) {
  auto* state = static_cast<ReadState*>(png_get_io_ptr(png));
  if (state->bytes.size() - state->offset < length) {
    png_error(png, "truncated PNG data (the file ends before the image is complete)");
  }
  std::memcpy(data, state->bytes.data() + state->offset, length);
  state->offset += length;
}

// libpng state for one decode; destroyed on every path.
struct PngReader {
  ReadState state;
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
  int channels = 0;  // 8-bit samples per pixel after the transforms (1 or 3)
  size_t rowbytes = 0;
  bool gray16_clip = false;  // 16-bit gray kept at 16 bits, clipped to 255 (Pillow mode "I")
  bool palette = false;      // samples are palette indices
  ~PngReader() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

bool info_step(PngReader& r) {
  if (setjmp(png_jmpbuf(r.png)) != 0) return false;
  png_set_read_fn(r.png, &r.state, on_png_read);
  // Any chunk CRC mismatch is an error: Pillow's PngStream refuses broken chunks too.
  png_set_crc_action(r.png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
  // libpng's own ceiling for one dimension; the pixel limit is checked by the caller.
  png_set_user_limits(r.png, 0x7fffffff, 0x7fffffff);
  png_set_chunk_malloc_max(r.png, 64u << 20);
  png_read_info(r.png, r.info);
  png_get_IHDR(r.png, r.info, &r.width, &r.height, &r.bit_depth, &r.color_type, nullptr, nullptr,
               nullptr);
  return true;
}

bool transform_step(PngReader& r, Palette* palette) {
  if (setjmp(png_jmpbuf(r.png)) != 0) return false;
  if (r.color_type == PNG_COLOR_TYPE_PALETTE) {
    // Indices are read as bytes and looked up by us (libpng's palette expansion would also
    // turn tRNS into alpha, and maps indices past the palette differently from Pillow).
    png_set_packing(r.png);
    png_colorp entries = nullptr;
    int count = 0;
    if (png_get_PLTE(r.png, r.info, &entries, &count) == 0) count = 0;
    for (int i = 0; i < 256; ++i) {
      const auto v = static_cast<uint8_t>(i);
      (*palette)[i] = {v, v, v};  // Pillow's default palette entries
    }
    for (int i = 0; i < count && i < 256; ++i) {
      (*palette)[i] = {entries[i].red, entries[i].green, entries[i].blue};
    }
    r.palette = true;
  } else if (r.color_type == PNG_COLOR_TYPE_GRAY && r.bit_depth < 8) {
    png_set_expand_gray_1_2_4_to_8(r.png);
  }
  r.gray16_clip = r.color_type == PNG_COLOR_TYPE_GRAY && r.bit_depth == 16;
  if (r.bit_depth == 16 && !r.gray16_clip) png_set_strip_16(r.png);
  if (r.gray16_clip) png_set_swap(r.png);  // little-endian 16-bit samples for us to clip
  if (r.color_type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(r.png);
  png_set_interlace_handling(r.png);
  png_read_update_info(r.png, r.info);
  r.channels = png_get_channels(r.png, r.info);
  r.rowbytes = png_get_rowbytes(r.png, r.info);
  return true;
}

bool read_step(PngReader& r, png_bytep* rows) {
  if (setjmp(png_jmpbuf(r.png)) != 0) return false;
  png_read_image(r.png, rows);
  png_read_end(r.png, nullptr);
  return true;
}

Status libpng_failure(const ReadState& state) {
  std::string msg = state.message;
  if (msg.rfind("truncated", 0) == 0) return Status::corrupt(msg);
  return Status::corrupt("invalid PNG data: " + msg);
}

}  // namespace

Result<RgbImage> decode_png(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  PngReader r;
  r.state.bytes = bytes;
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r.state, on_png_error, on_png_warning);
  if (r.png == nullptr) return Status::resource_exhausted("libpng could not allocate its state");
  r.info = png_create_info_struct(r.png);
  if (r.info == nullptr) return Status::resource_exhausted("libpng could not allocate its state");
  if (!info_step(r)) return libpng_failure(r.state);
  IVL_RETURN_IF_ERROR(check_dimensions("PNG", r.width, r.height, limits));
  Palette palette;
  if (!transform_step(r, &palette)) return libpng_failure(r.state);
  const size_t expected = static_cast<size_t>(r.width) * r.channels * (r.gray16_clip ? 2 : 1);
  if (r.rowbytes != expected || (r.channels != 1 && r.channels != 3)) {
    return Status::internal("unexpected libpng row layout for color type " +
                            std::to_string(r.color_type));
  }

  RgbImage image(static_cast<int>(r.width), static_cast<int>(r.height));
  std::vector<uint8_t> scratch;
  std::vector<png_bytep> rows(r.height);
  if (r.channels == 3) {
    for (png_uint_32 y = 0; y < r.height; ++y) rows[y] = image.row(static_cast<int>(y));
  } else {
    scratch.resize(r.rowbytes * r.height);
    for (png_uint_32 y = 0; y < r.height; ++y) rows[y] = scratch.data() + r.rowbytes * y;
  }
  if (!read_step(r, rows.data())) return libpng_failure(r.state);
  if (r.channels == 3) return image;

  for (png_uint_32 y = 0; y < r.height; ++y) {
    const uint8_t* src = scratch.data() + r.rowbytes * y;
    uint8_t* dst = image.row(static_cast<int>(y));
    for (png_uint_32 x = 0; x < r.width; ++x) {
      if (r.palette) {
        std::memcpy(dst + 3 * x, palette[src[x]].data(), 3);
        continue;
      }
      uint8_t v = src[x];
      if (r.gray16_clip) {
        const unsigned s = src[2 * x] | (unsigned{src[2 * x + 1]} << 8);
        v = static_cast<uint8_t>(std::min(s, 255u));
      }
      dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = v;
    }
  }
  return image;
}

}  // namespace ivl::vision::detail
