// Broken input never crashes, hangs or allocates without bound: every case below must come
// back as a clear Status (the code, and a message naming the input and the problem).
#include <gtest/gtest.h>
#include <png.h>
#include <turbojpeg.h>

#include <zlib.h>

#include <cstring>
#include <random>
#include <string>

#include "core/sha256.h"
#include "support/fixtures.h"
#include "vision/decode.h"
#include "vision/encoders.h"
#include "vision/image_source.h"

namespace ivl::vision {
namespace {

using test::Bytes;

Bytes read_fixture(const std::string& name) {
  const std::string s = ivl::test::read_text_file(ivl::test::fixture("images/" + name));
  Bytes b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

std::vector<std::pair<std::string, Bytes>> samples() {
  const RgbImage img = test::synthetic_image(40, 30, 5);
  test::BmpSpec bmp{.width = 40, .height = 30, .bits = 24};
  bmp.pixels.assign(40 * 30, 0x123456);
  test::GifSpec gif{.screen_w = 40, .screen_h = 30, .width = 40, .height = 30};
  gif.palette = {0, 0, 0, 255, 255, 255};
  for (int i = 0; i < 1200; ++i) gif.indices.push_back(static_cast<uint8_t>(i % 2));
  return {{"jpeg", read_fixture("odd_1023x767.jpg")},
          {"progressive jpeg", read_fixture("progressive_1000.jpg")},
          {"png", read_fixture("tiny_rgba_37x19.png")},
          {"palette png", read_fixture("palette_500x333.png")},
          {"webp", test::encode_webp_lossless(img)},
          {"lossy webp", test::encode_webp_lossy(img, 80)},
          {"bmp", test::encode_bmp(bmp)},
          {"gif", test::encode_gif(gif)}};
}

TEST(BadInput, TruncatedAtManyCutPointsIsCorruptData) {
  for (const auto& [what, full] : samples()) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(decode_image(full).ok());
    // 24 cut points spread over the file, plus the first bytes and the last byte.
    // (A GIF's last byte is the optional trailer: without it the image is complete, for
    // Pillow too, so GIF cuts stop one byte earlier.)
    const size_t last = full.size() - (what == "gif" ? 2 : 1);
    std::vector<size_t> cuts = {1, 2, 3, 5, 8, 12, 20, 33, last};
    for (int k = 1; k < 24; ++k) cuts.push_back(last * k / 24);
    for (size_t cut : cuts) {
      auto r = decode_image(std::span(full).first(cut), {}, "cut.img");
      ASSERT_FALSE(r.ok()) << "cut at " << cut << " of " << full.size() << " decoded";
      const auto code = r.status().code();
      EXPECT_TRUE(code == StatusCode::kCorruptData || code == StatusCode::kUnsupported)
          << r.status().to_string();
      EXPECT_EQ(r.status().message().rfind("cut.img: ", 0), 0u) << r.status().message();
    }
  }
}

TEST(BadInput, EmptyRandomAndWrongMagic) {
  auto empty = decode_image({}, {}, "empty.jpg");
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("empty.jpg: empty"), std::string::npos);

  std::mt19937 rng(42);
  for (int i = 0; i < 50; ++i) {
    Bytes junk(1 + rng() % 4000);
    for (auto& b : junk) b = static_cast<std::byte>(rng());
    auto r = decode_image(junk);
    EXPECT_FALSE(r.ok());
  }
  // Right magic, random body.
  using namespace std::string_literals;
  for (const std::string& magic :
       {"\xFF\xD8\xFF"s, "\x89PNG\r\n\x1A\n"s, "GIF89a"s, "BM"s, "RIFF\0\0\0\0WEBP"s}) {
    for (int i = 0; i < 20; ++i) {
      Bytes junk(magic.size() + rng() % 2000);
      for (auto& b : junk) b = static_cast<std::byte>(rng());
      std::memcpy(junk.data(), magic.data(), magic.size());
      EXPECT_FALSE(decode_image(junk).ok());
    }
  }
  const std::string text = "This is not an image at all.";
  auto r = decode_image(std::as_bytes(std::span(text)), {}, "notes.txt");
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("unknown image format"), std::string::npos);
}

uint32_t crc_of(const std::byte* data, size_t n) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(n)));
}

void put_be32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::byte>(v >> (24 - 8 * i));
}

TEST(BadInput, HugeDeclaredDimensionsAreRejectedBeforeAllocation) {
  // PNG: IHDR claims 100000 x 100000 (valid CRC, tiny file).
  Bytes png = read_fixture("square_448.png");
  put_be32(png, 16, 100000);
  put_be32(png, 20, 100000);
  put_be32(png, 29, crc_of(png.data() + 12, 17));
  auto r = decode_image(png, {}, "bomb.png");
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange) << r.status().to_string();
  EXPECT_NE(r.status().message().find("100000x100000"), std::string::npos);

  // A smaller limit applies to an ordinary image too.
  Bytes jpeg = read_fixture("landscape_1920x1080.jpg");
  EXPECT_EQ(decode_image(jpeg, {.max_pixels = 1000 * 1000}).status().code(),
            StatusCode::kOutOfRange);
  EXPECT_TRUE(decode_image(jpeg, {.max_pixels = 1920 * 1080}).ok());

  // JPEG SOF claiming 65500 x 65500.
  for (size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (jpeg[i] == std::byte{0xFF} && jpeg[i + 1] == std::byte{0xC0}) {
      jpeg[i + 5] = jpeg[i + 7] = std::byte{0xFF};
      jpeg[i + 6] = jpeg[i + 8] = std::byte{0xDC};
      break;
    }
  }
  EXPECT_EQ(decode_image(jpeg).status().code(), StatusCode::kOutOfRange);

  test::BmpSpec bmp{.width = 2, .height = 2, .bits = 24};
  bmp.pixels.assign(4, 0);
  Bytes b = test::encode_bmp(bmp);
  b[18] = b[19] = b[20] = std::byte{0xFF};  // width 16M
  b[22] = b[23] = std::byte{0xFF};          // height 64K
  EXPECT_EQ(decode_image(b).status().code(), StatusCode::kOutOfRange);

  test::GifSpec gif{.screen_w = 65535, .screen_h = 65535, .width = 1, .height = 1};
  gif.palette = {0, 0, 0, 1, 1, 1};
  gif.indices = {0};
  EXPECT_EQ(decode_image(test::encode_gif(gif)).status().code(), StatusCode::kOutOfRange);
  test::GifSpec gif2{
      .screen_w = 4, .screen_h = 4, .left = 60000, .top = 60000, .width = 1, .height = 1};
  gif2.palette = gif.palette;
  gif2.indices = {0};
  EXPECT_EQ(decode_image(test::encode_gif(gif2)).status().code(), StatusCode::kOutOfRange);

  // Lossless WebP of 16383 x 16383 declared in the VP8L header (14 bits each, minus one).
  Bytes webp = test::encode_webp_lossless(test::synthetic_image(4, 4));
  ASSERT_EQ(std::string(reinterpret_cast<const char*>(webp.data()) + 12, 4), "VP8L");
  webp[21] = std::byte{0xFF};
  webp[22] = std::byte{0xFF};
  webp[23] = std::byte{0xFF};
  webp[24] = static_cast<std::byte>((static_cast<uint8_t>(webp[24]) & 0xF0) | 0x0F);
  EXPECT_EQ(decode_image(webp, {.max_pixels = 1 << 20}).status().code(), StatusCode::kOutOfRange);
}

TEST(BadInput, CorruptPngChunkCrc) {
  Bytes png = read_fixture("square_448.png");
  png[29] ^= std::byte{0x01};  // IHDR CRC
  auto r = decode_image(png, {}, "crc.png");
  EXPECT_EQ(r.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(r.status().message().find("CRC"), std::string::npos) << r.status().message();

  Bytes png2 = read_fixture("square_448.png");
  png2[png2.size() / 2] ^= std::byte{0x40};  // inside IDAT: CRC or zlib error
  EXPECT_EQ(decode_image(png2).status().code(), StatusCode::kCorruptData);
}

TEST(BadInput, UnsupportedVariantsAreNamed) {
  test::BmpSpec bmp{.width = 2, .height = 2, .bits = 24};
  bmp.pixels.assign(4, 0);
  Bytes b = test::encode_bmp(bmp);
  b[28] = std::byte{2};  // 2 bits per pixel: Pillow has no mode for it
  auto r = decode_image(b);
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("2 bits"), std::string::npos) << r.status().message();
}

TEST(BadInput, MalformedDataUris) {
  struct Case {
    std::string uri, needle;
  };
  const Case cases[] = {
      {"data:image/png;base64", "no ','"},
      {"data:image/png;base64,@@@@", "invalid character '@' at offset 0"},
      {"data:image/png;base64,iVBORw0KGgo=A", "data after '='"},
      {"data:image/png;base64,iVBORw0KG", "cannot encode whole bytes"},
      {"data:image/png;base64,iVBORw0KGgo===", "padding"},
      {"data:image/png,%ZZ", "bad percent escape"},
      {"data:image/png;base64,", "empty input"},
      {"data:;base64,aGVsbG8gd29ybGQ=", "unknown image format"},
  };
  for (const Case& c : cases) {
    auto r = load_image(c.uri);
    ASSERT_FALSE(r.ok()) << c.uri;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.uri << " -> " << r.status().to_string();
    EXPECT_NE(r.status().message().find("data: URI"), std::string::npos) << r.status().message();
  }
}

TEST(BadInput, MissingFileIsNotFound) {
  auto r = load_image("/nonexistent/dir/cat.jpg");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/dir/cat.jpg"), std::string::npos);
}

}  // namespace
}  // namespace ivl::vision
