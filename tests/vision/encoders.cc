#include "vision/encoders.h"

#include <gif_lib.h>
#include <png.h>
#include <turbojpeg.h>
#include <webp/encode.h>

#include <cmath>
#include <csetjmp>
#include <cstring>
#include <stdexcept>

#include "core/sha256.h"

namespace ivl::vision::test {
namespace {

void append(Bytes* out, const void* data, size_t n) {
  const auto* b = static_cast<const std::byte*>(data);
  out->insert(out->end(), b, b + n);
}
void put_u16(Bytes* out, uint32_t v) {
  uint8_t b[2] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)};
  append(out, b, 2);
}
void put_u32(Bytes* out, uint32_t v) {
  put_u16(out, v & 0xFFFF);
  put_u16(out, v >> 16);
}

void png_write_bytes(png_structp png, png_bytep data, png_size_t n) {
  append(static_cast<Bytes*>(png_get_io_ptr(png)), data, n);
}
void png_flush_nothing(png_structp) {}

int png_channels(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_PALETTE:
      return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      return 2;
    case PNG_COLOR_TYPE_RGB:
      return 3;
    default:
      return 4;
  }
}

// Packs one row of samples into PNG byte layout (MSB-first below 8 bits, big-endian at 16).
std::vector<uint8_t> pack_row(const PngSpec& s, int y) {
  const int ch = png_channels(s.color_type);
  const size_t n = static_cast<size_t>(s.width) * ch;
  const uint16_t* row = s.samples.data() + n * y;
  std::vector<uint8_t> out((n * s.bit_depth + 7) / 8, 0);
  for (size_t i = 0; i < n; ++i) {
    if (s.bit_depth == 16) {
      out[2 * i] = static_cast<uint8_t>(row[i] >> 8);
      out[2 * i + 1] = static_cast<uint8_t>(row[i]);
    } else if (s.bit_depth == 8) {
      out[i] = static_cast<uint8_t>(row[i]);
    } else {
      const size_t bit = i * s.bit_depth;
      out[bit / 8] = static_cast<uint8_t>(out[bit / 8] | (row[i] << (8 - s.bit_depth - bit % 8)));
    }
  }
  return out;
}

}  // namespace

RgbImage synthetic_image(int width, int height, uint32_t seed) {
  RgbImage img(width, height);
  uint32_t state = seed * 2654435761u + 12345u;
  for (int y = 0; y < height; ++y) {
    uint8_t* row = img.row(y);
    for (int x = 0; x < width; ++x) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      const double fx = static_cast<double>(x) / width, fy = static_cast<double>(y) / height;
      const int noise = static_cast<int>(state % 24) - 12;
      const bool edge = ((x / 37) + (y / 53)) % 2 == 0;
      int v[3] = {static_cast<int>(255 * fx), static_cast<int>(255 * fy),
                  static_cast<int>(127 + 120 * std::sin(12 * fx + 7 * fy))};
      for (int c = 0; c < 3; ++c) {
        int p = v[c] + noise + (edge ? 40 : -40) * (c == 1);
        row[3 * x + c] = static_cast<uint8_t>(p < 0 ? 0 : (p > 255 ? 255 : p));
      }
    }
  }
  return img;
}

Bytes encode_png_spec(const PngSpec& s) {
  Bytes out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  std::vector<std::vector<uint8_t>> rows;
  std::vector<png_bytep> pointers;
  for (int y = 0; y < s.height; ++y) rows.push_back(pack_row(s, y));
  for (auto& r : rows) pointers.push_back(r.data());
  std::vector<png_color> pal;
  for (size_t i = 0; i + 2 < s.palette.size(); i += 3) {
    pal.push_back({s.palette[i], s.palette[i + 1], s.palette[i + 2]});
  }
  if (setjmp(png_jmpbuf(png)) != 0) {
    png_destroy_write_struct(&png, &info);
    throw std::runtime_error("test PNG encoder failed");
  }
  png_set_write_fn(png, &out, png_write_bytes, png_flush_nothing);
  png_set_IHDR(png, info, s.width, s.height, s.bit_depth, s.color_type,
               s.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!pal.empty()) png_set_PLTE(png, info, pal.data(), static_cast<int>(pal.size()));
  if (!s.trns.empty()) {
    png_set_tRNS(png, info, s.trns.data(), static_cast<int>(s.trns.size()), nullptr);
  }
  png_write_info(png, info);
  if (s.interlaced) png_set_interlace_handling(png);
  png_write_image(png, pointers.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

Bytes encode_webp_lossless(const RgbImage& image, const std::vector<uint8_t>& alpha) {
  WebPConfig config;
  WebPPicture pic;
  if (!WebPConfigInit(&config) || !WebPPictureInit(&pic)) throw std::runtime_error("webp init");
  config.lossless = 1;
  config.exact = 1;  // keep RGB under transparent pixels
  pic.use_argb = 1;
  pic.width = image.width();
  pic.height = image.height();
  std::vector<uint8_t> rgba(static_cast<size_t>(image.width()) * image.height() * 4);
  for (size_t i = 0; i < rgba.size() / 4; ++i) {
    std::memcpy(&rgba[4 * i], image.data() + 3 * i, 3);
    rgba[4 * i + 3] = alpha.empty() ? 255 : alpha[i];
  }
  WebPPictureImportRGBA(&pic, rgba.data(), image.width() * 4);
  WebPMemoryWriter writer;
  WebPMemoryWriterInit(&writer);
  pic.writer = WebPMemoryWrite;
  pic.custom_ptr = &writer;
  const bool ok = WebPEncode(&config, &pic) != 0;
  WebPPictureFree(&pic);
  Bytes out;
  if (ok) append(&out, writer.mem, writer.size);
  WebPMemoryWriterClear(&writer);
  if (!ok) throw std::runtime_error("webp encode failed");
  return out;
}

Bytes encode_webp_lossy(const RgbImage& image, float quality) {
  uint8_t* data = nullptr;
  size_t n = WebPEncodeRGB(image.data(), image.width(), image.height(),
                           static_cast<int>(image.stride()), quality, &data);
  Bytes out;
  append(&out, data, n);
  WebPFree(data);
  return out;
}

Bytes encode_jpeg(const uint8_t* pixels, int width, int height, bool cmyk, int subsampling,
                  int quality, bool progressive) {
  tjhandle h = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  int r = tjCompress2(h, pixels, width, 0, height, cmyk ? TJPF_CMYK : TJPF_RGB, &buf, &size,
                      subsampling, quality, progressive ? TJFLAG_PROGRESSIVE : 0);
  Bytes out;
  if (r == 0) append(&out, buf, size);
  tjFree(buf);
  tjDestroy(h);
  if (r != 0) throw std::runtime_error("tjCompress2 failed");
  return out;
}

namespace {
int gif_write(GifFileType* gif, const GifByteType* data, int n) {
  append(static_cast<Bytes*>(gif->UserData), data, static_cast<size_t>(n));
  return n;
}
}  // namespace

Bytes encode_gif(const GifSpec& s) {
  Bytes out;
  int err = 0;
  GifFileType* gif = EGifOpen(&out, gif_write, &err);
  if (gif == nullptr) throw std::runtime_error("EGifOpen failed");
  EGifSetGifVersion(gif, true);
  std::vector<GifColorType> colors;
  for (size_t i = 0; i + 2 < s.palette.size(); i += 3) {
    colors.push_back({s.palette[i], s.palette[i + 1], s.palette[i + 2]});
  }
  ColorMapObject* map = GifMakeMapObject(static_cast<int>(colors.size()), colors.data());
  EGifPutScreenDesc(gif, s.screen_w, s.screen_h, 8, 0, s.local_palette ? nullptr : map);
  auto put_frame = [&](int left, int top, int w, int h, bool interlaced, int transparent,
                       const std::vector<uint8_t>& indices) {
    if (transparent >= 0) {
      const GifByteType gce[4] = {1, 0, 0, static_cast<GifByteType>(transparent)};
      EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, gce);
    }
    EGifPutImageDesc(gif, left, top, w, h, interlaced, s.local_palette ? map : nullptr);
    std::vector<int> order;
    static constexpr int kStart[] = {0, 4, 2, 1}, kStep[] = {8, 8, 4, 2};
    for (int pass = 0; pass < (interlaced ? 4 : 1); ++pass) {
      for (int y = interlaced ? kStart[pass] : 0; y < h; y += interlaced ? kStep[pass] : 1) {
        order.push_back(y);
      }
    }
    for (int y : order) {
      std::vector<GifPixelType> line(indices.begin() + static_cast<ptrdiff_t>(y) * w,
                                     indices.begin() + static_cast<ptrdiff_t>(y + 1) * w);
      EGifPutLine(gif, line.data(), w);
    }
  };
  put_frame(s.left, s.top, s.width, s.height, s.interlaced, s.transparent_index, s.indices);
  for (int f = 0; f < s.extra_frames; ++f) {
    put_frame(0, 0, s.screen_w, s.screen_h, false, -1,
              std::vector<uint8_t>(static_cast<size_t>(s.screen_w) * s.screen_h, 0));
  }
  EGifCloseFile(gif, &err);
  GifFreeMapObject(map);
  return out;
}

Bytes encode_bmp(const BmpSpec& s) {
  const bool v4 = s.v4 || (s.bitfields && s.masks[3] != 0);
  const uint32_t header = v4 ? 108 : 40;
  const uint32_t mask_bytes = (s.bitfields && !v4) ? 12 : 0;
  const uint32_t palette_bytes = static_cast<uint32_t>(s.palette.size() / 3 * 4);
  const uint32_t stride = ((static_cast<uint32_t>(s.width) * s.bits + 31) / 32) * 4;
  const uint32_t offset = 14 + header + mask_bytes + palette_bytes;
  Bytes out;
  append(&out, "BM", 2);
  put_u32(&out, offset + stride * s.height);
  put_u32(&out, 0);
  put_u32(&out, offset);
  put_u32(&out, header);
  put_u32(&out, static_cast<uint32_t>(s.width));
  put_u32(&out, static_cast<uint32_t>(s.top_down ? -s.height : s.height));
  put_u16(&out, 1);
  put_u16(&out, static_cast<uint32_t>(s.bits));
  put_u32(&out, s.bitfields ? 3 : 0);
  put_u32(&out, stride * s.height);
  put_u32(&out, 2835);
  put_u32(&out, 2835);
  put_u32(&out, static_cast<uint32_t>(s.palette.size() / 3));
  put_u32(&out, 0);
  if (v4) {
    for (uint32_t m : s.masks) put_u32(&out, m);
    put_u32(&out, 0x73524742);  // 'sRGB'
    for (int i = 0; i < 12; ++i) put_u32(&out, 0);
  } else if (s.bitfields) {
    for (int i = 0; i < 3; ++i) put_u32(&out, s.masks[i]);
  }
  for (size_t i = 0; i + 2 < s.palette.size(); i += 3) {
    const uint8_t e[4] = {s.palette[i + 2], s.palette[i + 1], s.palette[i], 0};
    append(&out, e, 4);
  }
  for (int r = 0; r < s.height; ++r) {
    const int y = s.top_down ? r : s.height - 1 - r;
    std::vector<uint8_t> row(stride, 0);
    for (int x = 0; x < s.width; ++x) {
      const uint32_t v = s.pixels[static_cast<size_t>(y) * s.width + x];
      if (s.bits < 8) {
        const int bit = x * s.bits;
        row[bit / 8] = static_cast<uint8_t>(row[bit / 8] | (v << (8 - s.bits - bit % 8)));
      } else {
        for (int b = 0; b < s.bits / 8; ++b)
          row[x * (s.bits / 8) + b] = static_cast<uint8_t>(v >> (8 * b));
      }
    }
    append(&out, row.data(), row.size());
  }
  return out;
}

std::string sha256_of(const uint8_t* data, size_t size) {
  return sha256_hex({reinterpret_cast<const std::byte*>(data), size});
}

}  // namespace ivl::vision::test
