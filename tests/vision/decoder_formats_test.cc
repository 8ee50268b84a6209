// Decoders for the layouts the fixtures do not cover. Each test encodes pixels it chose with a
// real encoder (libpng, libwebp, giflib, TurboJPEG) or writes the bytes itself (BMP), then
// compares the decoded RGB with what PIL's convert("RGB") gives for those pixels.
#include <gtest/gtest.h>
#include <png.h>
#include <turbojpeg.h>

#include <cstring>
#include <functional>

#include "vision/decode.h"
#include "vision/encoders.h"
#include "vision/image_source.h"

namespace ivl::vision {
namespace {

using test::Bytes;

RgbImage decode_ok(const Bytes& bytes) {
  auto r = decode_image(bytes);
  if (!r.ok()) throw std::runtime_error(r.status().to_string());
  return std::move(r).value();
}

void expect_pixels(const RgbImage& got, int w, int h,
                   const std::function<void(int, int, uint8_t*)>& want) {
  ASSERT_EQ(got.width(), w);
  ASSERT_EQ(got.height(), h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t rgb[3];
      want(x, y, rgb);
      const uint8_t* p = got.row(y) + 3 * x;
      ASSERT_TRUE(p[0] == rgb[0] && p[1] == rgb[1] && p[2] == rgb[2])
          << "pixel (" << x << ", " << y << "): got " << int(p[0]) << "," << int(p[1]) << ","
          << int(p[2]) << " want " << int(rgb[0]) << "," << int(rgb[1]) << "," << int(rgb[2]);
    }
  }
}

uint16_t sample(int x, int y, int c, int max) {
  return static_cast<uint16_t>((x * 7 + y * 13 + c * 101) % (max + 1));
}

TEST(DecodePng, SixteenBitRgbKeepsHighByte) {
  test::PngSpec s{.width = 17, .height = 9, .bit_depth = 16, .color_type = PNG_COLOR_TYPE_RGB};
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 17; ++x)
      for (int c = 0; c < 3; ++c)
        s.samples.push_back(static_cast<uint16_t>(sample(x, y, c, 255) * 257 + x));
  expect_pixels(decode_ok(test::encode_png_spec(s)), 17, 9, [](int x, int y, uint8_t* p) {
    for (int c = 0; c < 3; ++c) p[c] = static_cast<uint8_t>((sample(x, y, c, 255) * 257 + x) >> 8);
  });
}

TEST(DecodePng, SixteenBitRgbaDropsAlpha) {
  test::PngSpec s{.width = 5, .height = 4, .bit_depth = 16, .color_type = PNG_COLOR_TYPE_RGBA};
  for (int i = 0; i < 5 * 4; ++i)
    for (int c = 0; c < 4; ++c) s.samples.push_back(static_cast<uint16_t>(i * 3000 + c * 700));
  expect_pixels(decode_ok(test::encode_png_spec(s)), 5, 4, [](int x, int y, uint8_t* p) {
    const int i = y * 5 + x;
    for (int c = 0; c < 3; ++c) p[c] = static_cast<uint8_t>((i * 3000 + c * 700) >> 8);
  });
}

TEST(DecodePng, SixteenBitGrayClipsLikePilModeI) {
  // Pillow opens 16-bit gray as mode "I" and convert("RGB") clips to 255.
  test::PngSpec s{.width = 6, .height = 1, .bit_depth = 16, .color_type = PNG_COLOR_TYPE_GRAY};
  s.samples = {0, 1, 200, 255, 256, 65535};
  const uint8_t want[] = {0, 1, 200, 255, 255, 255};
  expect_pixels(decode_ok(test::encode_png_spec(s)), 6, 1,
                [&](int x, int, uint8_t* p) { p[0] = p[1] = p[2] = want[x]; });
}

TEST(DecodePng, GrayAlphaDropsAlpha) {
  for (int depth : {8, 16}) {
    test::PngSpec s{
        .width = 4, .height = 3, .bit_depth = depth, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA};
    const int max = depth == 8 ? 255 : 65535;
    for (int i = 0; i < 12; ++i) {
      s.samples.push_back(static_cast<uint16_t>(i * max / 11));
      s.samples.push_back(static_cast<uint16_t>(max - i));
    }
    expect_pixels(decode_ok(test::encode_png_spec(s)), 4, 3, [&](int x, int y, uint8_t* p) {
      const int v = (y * 4 + x) * max / 11;
      p[0] = p[1] = p[2] = static_cast<uint8_t>(depth == 8 ? v : v >> 8);
    });
  }
}

TEST(DecodePng, LowBitDepthGrayScalesUp) {
  for (int depth : {1, 2, 4}) {
    const int max = (1 << depth) - 1;
    test::PngSpec s{
        .width = 11, .height = 3, .bit_depth = depth, .color_type = PNG_COLOR_TYPE_GRAY};
    for (int i = 0; i < 33; ++i) s.samples.push_back(static_cast<uint16_t>(i % (max + 1)));
    expect_pixels(decode_ok(test::encode_png_spec(s)), 11, 3, [&](int x, int y, uint8_t* p) {
      p[0] = p[1] = p[2] = static_cast<uint8_t>(((y * 11 + x) % (max + 1)) * 255 / max);
    });
  }
}

TEST(DecodePng, PaletteWithTransparencyIgnoresTrns) {
  for (int depth : {2, 4, 8}) {
    test::PngSpec s{.width = 9,
                    .height = 5,
                    .bit_depth = depth,
                    .color_type = PNG_COLOR_TYPE_PALETTE,
                    .interlaced = depth == 8};
    const int n = 1 << depth;
    for (int i = 0; i < n; ++i) {
      s.palette.push_back(static_cast<uint8_t>(i * 37));
      s.palette.push_back(static_cast<uint8_t>(255 - i));
      s.palette.push_back(static_cast<uint8_t>(i * 5));
    }
    s.trns = {0, 128};
    for (int i = 0; i < 45; ++i) s.samples.push_back(static_cast<uint16_t>(i % n));
    expect_pixels(decode_ok(test::encode_png_spec(s)), 9, 5, [&](int x, int y, uint8_t* p) {
      const int i = (y * 9 + x) % n;
      p[0] = static_cast<uint8_t>(i * 37);
      p[1] = static_cast<uint8_t>(255 - i);
      p[2] = static_cast<uint8_t>(i * 5);
    });
  }
}

TEST(DecodePng, InterlacedRgbMatches) {
  const RgbImage src = test::synthetic_image(33, 21);
  test::PngSpec s{.width = 33,
                  .height = 21,
                  .bit_depth = 8,
                  .color_type = PNG_COLOR_TYPE_RGB,
                  .interlaced = true};
  for (size_t i = 0; i < src.size_bytes(); ++i) s.samples.push_back(src.data()[i]);
  const RgbImage got = decode_ok(test::encode_png_spec(s));
  ASSERT_EQ(std::memcmp(got.data(), src.data(), src.size_bytes()), 0);
}

TEST(DecodeWebp, LosslessRgbAndRgbaEqualSource) {
  const RgbImage src = test::synthetic_image(45, 31, 7);
  RgbImage got = decode_ok(test::encode_webp_lossless(src));
  ASSERT_EQ(got.size_bytes(), src.size_bytes());
  EXPECT_EQ(std::memcmp(got.data(), src.data(), src.size_bytes()), 0);
  std::vector<uint8_t> alpha(45 * 31);
  for (size_t i = 0; i < alpha.size(); ++i) alpha[i] = static_cast<uint8_t>(i % 3 == 0 ? 0 : i);
  got = decode_ok(test::encode_webp_lossless(src, alpha));
  EXPECT_EQ(std::memcmp(got.data(), src.data(), src.size_bytes()), 0);  // not composited
}

TEST(DecodeWebp, LossyDecodesCloseToSource) {
  const RgbImage src = test::synthetic_image(64, 48, 3);
  const RgbImage got = decode_ok(test::encode_webp_lossy(src, 95));
  ASSERT_EQ(got.width(), 64);
  double err = 0;
  for (size_t i = 0; i < src.size_bytes(); ++i) err += std::abs(got.data()[i] - src.data()[i]);
  EXPECT_LT(err / static_cast<double>(src.size_bytes()), 12.0);
}

TEST(DecodeJpeg, CmykIsInvertedAdobeConvertedLikePil) {
  // Pillow reads 4-channel JPEGs as inverted CMYK; for stored samples (c, m, y, k) its RGB is
  // k - k * (255 - c) / 255 (MULDIV255 rounding). JPEG is lossy, so compare within a tolerance
  // that an inverted or un-inverted reading would exceed by far.
  const int w = 32, h = 24;
  std::vector<uint8_t> cmyk(static_cast<size_t>(w) * h * 4);
  for (int i = 0; i < w * h; ++i) {
    cmyk[4 * i] = static_cast<uint8_t>(i * 3);
    cmyk[4 * i + 1] = static_cast<uint8_t>(255 - i);
    cmyk[4 * i + 2] = static_cast<uint8_t>((i * 7) % 256);
    cmyk[4 * i + 3] = static_cast<uint8_t>(128 + i % 128);
  }
  const RgbImage got = decode_ok(test::encode_jpeg(cmyk.data(), w, h, true, TJSAMP_444, 100));
  ASSERT_EQ(got.width(), w);
  int max_err = 0;
  for (int i = 0; i < w * h; ++i) {
    const int k = cmyk[4 * i + 3];
    for (int c = 0; c < 3; ++c) {
      const int want = k - (255 - cmyk[4 * i + c]) * k / 255;
      max_err = std::max(max_err, std::abs(got.data()[3 * i + c] - want));
    }
  }
  EXPECT_LE(max_err, 6);
}

TEST(DecodeJpeg, SubsamplingsAndProgressiveDecodeNearSource) {
  const RgbImage src = test::synthetic_image(61, 47, 11);
  for (int samp : {TJSAMP_444, TJSAMP_422, TJSAMP_420, TJSAMP_GRAY}) {
    for (bool progressive : {false, true}) {
      const RgbImage got =
          decode_ok(test::encode_jpeg(src.data(), 61, 47, false, samp, 95, progressive));
      ASSERT_EQ(got.width(), 61);
      if (samp == TJSAMP_GRAY) {
        for (int i = 0; i < 61 * 47; ++i) {
          ASSERT_EQ(got.data()[3 * i], got.data()[3 * i + 1]);
          ASSERT_EQ(got.data()[3 * i], got.data()[3 * i + 2]);
        }
      }
    }
  }
}

TEST(DecodeGif, FirstFrameOnScreenWithPaletteAndTransparencyIndex) {
  test::GifSpec s{.screen_w = 10, .screen_h = 8, .left = 2, .top = 1, .width = 5, .height = 6};
  for (int i = 0; i < 16; ++i) {
    s.palette.push_back(static_cast<uint8_t>(i * 16));
    s.palette.push_back(static_cast<uint8_t>(200 - i));
    s.palette.push_back(static_cast<uint8_t>(i * 3));
  }
  for (int i = 0; i < 30; ++i) s.indices.push_back(static_cast<uint8_t>((i * 5) % 16));
  s.transparent_index = 3;
  s.extra_frames = 2;
  for (bool interlaced : {false, true}) {
    for (bool local : {false, true}) {
      s.interlaced = interlaced;
      s.local_palette = local;
      expect_pixels(decode_ok(test::encode_gif(s)), 10, 8, [&](int x, int y, uint8_t* p) {
        int index = 3;  // outside the frame: the transparent index (Pillow's frame-0 canvas)
        if (x >= 2 && x < 7 && y >= 1 && y < 7) index = s.indices[(y - 1) * 5 + (x - 2)];
        std::memcpy(p, &s.palette[3 * index], 3);
      });
    }
  }
  s.transparent_index = -1;
  s.interlaced = false;
  expect_pixels(decode_ok(test::encode_gif(s)), 10, 8, [&](int x, int y, uint8_t* p) {
    int index = 0;  // no transparency: the canvas starts as index 0
    if (x >= 2 && x < 7 && y >= 1 && y < 7) index = s.indices[(y - 1) * 5 + (x - 2)];
    std::memcpy(p, &s.palette[3 * index], 3);
  });
}

TEST(DecodeGif, FrameLargerThanScreenGrowsTheImage) {
  test::GifSpec s{.screen_w = 4, .screen_h = 4, .left = 2, .top = 3, .width = 4, .height = 2};
  s.palette = {0, 0, 0, 255, 0, 0};
  s.indices = {1, 1, 1, 1, 1, 1, 1, 1};
  const RgbImage got = decode_ok(test::encode_gif(s));
  EXPECT_EQ(got.width(), 6);
  EXPECT_EQ(got.height(), 5);
  EXPECT_EQ(got.row(4)[3 * 5], 255);
  EXPECT_EQ(got.row(0)[0], 0);
}

std::vector<uint8_t> rgb_palette(int n) {
  std::vector<uint8_t> p;
  p.reserve(static_cast<size_t>(n) * 3);
  for (int i = 0; i < n; ++i) {
    p.push_back(static_cast<uint8_t>(i * 50));
    p.push_back(static_cast<uint8_t>(i * 13 + 1));
    p.push_back(static_cast<uint8_t>(255 - i));
  }
  return p;
}

TEST(DecodeBmp, PaletteDepths) {
  for (int bits : {1, 4, 8}) {
    for (bool top_down : {false, true}) {
      const int n = bits == 8 ? 5 : (1 << bits);  // 8-bit: a short palette + indices past it
      test::BmpSpec s{.width = 13, .height = 7, .bits = bits, .top_down = top_down};
      s.palette = rgb_palette(n);
      for (int i = 0; i < 13 * 7; ++i)
        s.pixels.push_back(static_cast<uint32_t>(i % (bits == 8 ? 9 : n)));
      expect_pixels(decode_ok(test::encode_bmp(s)), 13, 7, [&](int x, int y, uint8_t* p) {
        const int index = (y * 13 + x) % (bits == 8 ? 9 : n);
        if (index < n) {
          std::memcpy(p, &s.palette[3 * index], 3);
        } else {
          p[0] = p[1] = p[2] = static_cast<uint8_t>(index);  // Pillow's default palette entry
        }
      });
    }
  }
}

TEST(DecodeBmp, PackedRowsAreNotReadPastTheirEnd) {
  // Regression (found by the fuzzer): 1-bit rows are width / 8 bytes; decode from a buffer of
  // exactly the file's size so AddressSanitizer sees any read past the last row.
  test::BmpSpec s{.width = 29, .height = 3, .bits = 1};
  s.palette = rgb_palette(2);
  for (int i = 0; i < 29 * 3; ++i) s.pixels.push_back(static_cast<uint32_t>(i % 3 == 0));
  const Bytes file = test::encode_bmp(s);
  auto exact = std::make_unique<std::byte[]>(file.size());
  std::memcpy(exact.get(), file.data(), file.size());
  auto r = decode_image({exact.get(), file.size()});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  expect_pixels(*r, 29, 3, [&](int x, int y, uint8_t* p) {
    std::memcpy(p, &s.palette[3 * ((y * 29 + x) % 3 == 0 ? 1 : 0)], 3);
  });
}

TEST(DecodeBmp, TrueColourLayouts) {
  const RgbImage src = test::synthetic_image(9, 5, 2);
  auto rgb = [&](int x, int y, int c) { return uint32_t{src.row(y)[3 * x + c]}; };
  // 24-bit BGR.
  test::BmpSpec s24{.width = 9, .height = 5, .bits = 24};
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 9; ++x)
      s24.pixels.push_back(rgb(x, y, 0) << 16 | rgb(x, y, 1) << 8 | rgb(x, y, 2));
  EXPECT_EQ(std::memcmp(decode_ok(test::encode_bmp(s24)).data(), src.data(), src.size_bytes()), 0);
  // 32-bit BGRX (BI_RGB) and RGBA bitfields (V4 header).
  test::BmpSpec s32{.width = 9, .height = 5, .bits = 32, .top_down = true};
  test::BmpSpec rgba{.width = 9,
                     .height = 5,
                     .bits = 32,
                     .masks = {0xFF, 0xFF00, 0xFF0000, 0xFF000000},
                     .bitfields = true};
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 9; ++x) {
      s32.pixels.push_back(0xAA000000u | rgb(x, y, 0) << 16 | rgb(x, y, 1) << 8 | rgb(x, y, 2));
      rgba.pixels.push_back(0x11000000u | rgb(x, y, 2) << 16 | rgb(x, y, 1) << 8 | rgb(x, y, 0));
    }
  }
  EXPECT_EQ(std::memcmp(decode_ok(test::encode_bmp(s32)).data(), src.data(), src.size_bytes()), 0);
  EXPECT_EQ(std::memcmp(decode_ok(test::encode_bmp(rgba)).data(), src.data(), src.size_bytes()), 0);
}

TEST(DecodeBmp, SixteenBitScalesLikePilUnpackers) {
  test::BmpSpec s555{.width = 32, .height = 2, .bits = 16};
  test::BmpSpec s565{
      .width = 32, .height = 2, .bits = 16, .masks = {0xF800, 0x7E0, 0x1F, 0}, .bitfields = true};
  for (int i = 0; i < 64; ++i) {
    s555.pixels.push_back(
        static_cast<uint32_t>((i % 32) << 10 | ((i * 3) % 32) << 5 | (31 - i % 32)));
    s565.pixels.push_back(static_cast<uint32_t>((i % 32) << 11 | i << 5 | (31 - i % 32)));
  }
  expect_pixels(decode_ok(test::encode_bmp(s555)), 32, 2, [](int x, int y, uint8_t* p) {
    const int i = y * 32 + x;
    p[0] = static_cast<uint8_t>((i % 32) * 255 / 31);
    p[1] = static_cast<uint8_t>(((i * 3) % 32) * 255 / 31);
    p[2] = static_cast<uint8_t>((31 - i % 32) * 255 / 31);
  });
  expect_pixels(decode_ok(test::encode_bmp(s565)), 32, 2, [](int x, int y, uint8_t* p) {
    const int i = y * 32 + x;
    p[0] = static_cast<uint8_t>((i % 32) * 255 / 31);
    p[1] = static_cast<uint8_t>(i * 255 / 63);
    p[2] = static_cast<uint8_t>((31 - i % 32) * 255 / 31);
  });
}

TEST(DecodeBmp, Rle8) {
  // Hand-written RLE8: 4x2 image, bottom-up. Row 0 (bottom): run of 3 x index 1, absolute
  // [2]... then end of line; row 1: run of 4 x index 0; end of bitmap.
  test::BmpSpec header{.width = 4, .height = 2, .bits = 8};
  header.palette = rgb_palette(3);
  header.pixels.assign(8, 0);
  Bytes b = test::encode_bmp(header);
  const uint32_t offset = static_cast<uint32_t>(b[10]) | static_cast<uint32_t>(b[11]) << 8;
  b.resize(offset);
  b[30] = std::byte{1};  // compression = RLE8
  const uint8_t rle[] = {3, 1, 1, 2, 0, 0, 4, 0, 0, 1};
  for (uint8_t v : rle) b.push_back(static_cast<std::byte>(v));
  expect_pixels(decode_ok(b), 4, 2, [&](int x, int y, uint8_t* p) {
    const int bottom[] = {1, 1, 1, 2};
    const int index = y == 1 ? bottom[x] : 0;
    std::memcpy(p, &header.palette[3 * index], 3);
  });
}

TEST(ImageSource, DataUriBase64AndPercentEncoding) {
  const RgbImage src = test::synthetic_image(8, 8);
  const Bytes webp = test::encode_webp_lossless(src);
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (size_t i = 0; i < webp.size(); i += 3) {
    uint32_t v = static_cast<uint32_t>(webp[i]) << 16;
    if (i + 1 < webp.size()) v |= static_cast<uint32_t>(webp[i + 1]) << 8;
    if (i + 2 < webp.size()) v |= static_cast<uint32_t>(webp[i + 2]);
    b64 += kAlphabet[(v >> 18) & 63];
    b64 += kAlphabet[(v >> 12) & 63];
    b64 += i + 1 < webp.size() ? kAlphabet[(v >> 6) & 63] : '=';
    b64 += i + 2 < webp.size() ? kAlphabet[v & 63] : '=';
  }
  auto img = load_image("data:image/webp;base64," + b64);
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  EXPECT_EQ(std::memcmp(img->data(), src.data(), src.size_bytes()), 0);
  // Media type is not trusted; line breaks inside base64 are ignored.
  b64.insert(20, "\r\n");
  EXPECT_TRUE(load_image_data_uri("data:image/png;base64," + b64).ok());

  std::string pct = "data:image/webp,";
  for (std::byte c : webp) {
    char buf[4];
    std::snprintf(buf, sizeof(buf), "%%%02X", static_cast<unsigned>(c));
    pct += buf;
  }
  auto img2 = load_image_data_uri(pct);
  ASSERT_TRUE(img2.ok()) << img2.status().to_string();
  EXPECT_EQ(std::memcmp(img2->data(), src.data(), src.size_bytes()), 0);
}

TEST(ImageSource, Base64Decoding) {
  auto d = decode_base64("aGVsbG8=");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(d->data()), d->size()), "hello");
  EXPECT_TRUE(decode_base64("aGVsbG8").ok());  // padding optional
  EXPECT_EQ(decode_base64("").value().size(), 0u);
}

}  // namespace
}  // namespace ivl::vision
