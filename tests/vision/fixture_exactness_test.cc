// Every fixture image decodes to the reference pixels, and for every max_num in images.json
// the grid, tile count, sha256 of the uint8 tiles and the normalised float32 statistics equal
// the reference (InternVL's PIL pipeline). tiles/*.safetensors pinpoint a differing pixel.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <string>

#include "core/sha256.h"
#include "io/safetensors.h"
#include "support/fixtures.h"
#include "vision/encoders.h"
#include "vision/image_source.h"
#include "vision/preprocess.h"

namespace ivl::vision {
namespace {

using nlohmann::json;

const json& images_json() {
  static const json j = ivl::test::read_json_file(ivl::test::fixture("images.json"));
  return j;
}

RgbImage load_fixture(const std::string& name) {
  auto img = load_image_file(ivl::test::fixture("images/" + name).string());
  if (!img.ok()) throw std::runtime_error(img.status().to_string());
  return std::move(img).value();
}

// Where two tile buffers first differ, for a readable failure.
std::string first_difference(std::span<const uint8_t> got, std::span<const std::byte> want) {
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (got[i] != static_cast<uint8_t>(want[i])) {
      const size_t tile_bytes = 448 * 448 * 3;
      const size_t t = i / tile_bytes, r = i % tile_bytes;
      return "tile " + std::to_string(t) + " y " + std::to_string(r / (448 * 3)) + " x " +
             std::to_string(r % (448 * 3) / 3) + " c " + std::to_string(r % 3) + ": got " +
             std::to_string(got[i]) + ", want " + std::to_string(static_cast<int>(want[i]));
    }
  }
  return got.size() == want.size() ? "equal" : "different sizes";
}

TEST(FixtureImages, DecodedPixelsEqualPil) {
  ASSERT_EQ(images_json().size(), 10u);
  for (const auto& [name, entry] : images_json().items()) {
    SCOPED_TRACE(name);
    RgbImage img = load_fixture(name);
    EXPECT_EQ(img.width(), entry["size"][0].get<int>());
    EXPECT_EQ(img.height(), entry["size"][1].get<int>());
    EXPECT_EQ(test::sha256_of(img.data(), img.size_bytes()),
              entry["decoded_rgb_sha256"].get<std::string>());
  }
}

// Tiles of one image for one max_num, checked against images.json.
void expect_reference_tiles(const std::string& name, const RgbImage& img,
                            const std::string& max_key, const json& want,
                            const ResizeOptions& resize, const json* tile_means) {
  SCOPED_TRACE(name + " max_num " + max_key + " kernel " +
               std::string(resize_kernel_name(resize.kernel)));
  TilingOptions options;
  options.max_num = std::stoi(max_key);
  options.resize = resize;
  auto tiled = tile_image(img, options);
  ASSERT_TRUE(tiled.ok()) << tiled.status().to_string();
  EXPECT_EQ(tiled->grid.cols, want["grid"][0].get<int>());
  EXPECT_EQ(tiled->grid.rows, want["grid"][1].get<int>());
  EXPECT_EQ(tiled->num_tiles, want["num_tiles"].get<int>());
  EXPECT_EQ(test::sha256_of(tiled->tiles.data(), tiled->tiles.size()),
            want["tiles_uint8_sha256"].get<std::string>());
  if (tile_means == nullptr) return;

  ASSERT_EQ(tile_means->size(), static_cast<size_t>(tiled->num_tiles));
  for (int t = 0; t < tiled->num_tiles; ++t) {
    double total = 0;
    for (uint8_t v : tiled->tile(t)) total += v;
    EXPECT_NEAR(total / static_cast<double>(tiled->tile_bytes()), (*tile_means)[t].get<double>(),
                1e-9);
  }

  const std::vector<float> px = normalize_tiles(*tiled);
  double sum = 0, abs_sum = 0;
  for (float v : px) {
    sum += v;
    abs_sum += std::fabs(v);
  }
  const double want_sum = want["pixel_values_sum"].get<double>();
  const double want_abs = want["pixel_values_abs_sum"].get<double>();
  EXPECT_NEAR(sum, want_sum, 1e-6 * std::fabs(want_abs));
  EXPECT_NEAR(abs_sum, want_abs, 1e-6 * want_abs);
  const auto& first8 = want["pixel_values_first8"];
  ASSERT_EQ(first8.size(), 8u);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(px[i], first8[i].get<float>()) << "pixel_values[" << i << "]";
  }
}

// Every image x every max_num with the kernel this CPU uses (and two threads, which must not
// change a byte): grid, tile count, tile sha256, per-tile means and the normalised float32
// statistics (sums within 1e-6 relative, the first eight values exactly). One test per image,
// so ctest runs them in parallel.
class FixtureImageTiles : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureImageTiles, GridTilesAndNormalisationEqualReference) {
  const std::string& name = GetParam();
  const json& entry = images_json()[name];
  const RgbImage img = load_fixture(name);
  ASSERT_EQ(entry["by_max_num"].size(), 3u);
  for (const auto& [max_key, want] : entry["by_max_num"].items()) {
    expect_reference_tiles(name, img, max_key, want, {ResizeKernel::kAuto, 2},
                           &entry["tile_means"][max_key]);
  }
}

// The fixture list is fixed here so that a missing or renamed fixture fails loudly.
INSTANTIATE_TEST_SUITE_P(AllImages, FixtureImageTiles,
                         ::testing::Values("gray_640x480.jpg", "landscape_1920x1080.jpg",
                                           "odd_1023x767.jpg", "palette_500x333.png",
                                           "portrait_800x1300.jpg", "progressive_1000.jpg",
                                           "square_448.png", "tall_300x2000.png",
                                           "tiny_rgba_37x19.png", "wide_2048x512.png"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

// The scalar oracle itself against the reference (the other kernels are compared with it on
// random sizes in resize_test.cc): an upscale, a downscale and a palette image.
TEST(FixtureTiles, ScalarOracleEqualsReference) {
  for (const char* name : {"gray_640x480.jpg", "portrait_800x1300.jpg", "palette_500x333.png"}) {
    const RgbImage img = load_fixture(name);
    expect_reference_tiles(name, img, "6", images_json()[name]["by_max_num"]["6"],
                           {ResizeKernel::kScalar, 1}, nullptr);
  }
}

TEST(FixtureTiles, SafetensorsTilesMatchPixelForPixel) {
  const char* kNames[] = {"portrait_800x1300.jpg", "square_448.png", "tall_300x2000.png",
                          "tiny_rgba_37x19.png"};
  for (const char* name : kNames) {
    SCOPED_TRACE(name);
    auto file = io::SafetensorsFile::open(
        ivl::test::fixture(std::string("tiles/") + name + ".safetensors").string());
    ASSERT_TRUE(file.ok()) << file.status().to_string();
    const RgbImage img = load_fixture(name);
    for (int max_num : {12, 1}) {
      const TensorView* want = (*file)->find("max" + std::to_string(max_num));
      ASSERT_NE(want, nullptr);
      TilingOptions options;
      options.max_num = max_num;
      auto tiled = tile_image(img, options);
      ASSERT_TRUE(tiled.ok());
      ASSERT_EQ(want->shape, (Shape{tiled->num_tiles, 448, 448, 3}));
      EXPECT_EQ(first_difference(tiled->tiles, want->bytes()), "equal") << "max_num " << max_num;
    }
  }
}

TEST(Normalize, Bf16RoundingIsNearestEven) {
  EXPECT_EQ(round_to_bf16(1.0f), 1.0f);
  // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties go to the even mantissa (1.0).
  EXPECT_EQ(round_to_bf16(1.0f + 1.0f / 256), 1.0f);
  EXPECT_EQ(round_to_bf16(1.0f + 3.0f / 256), 1.0f + 4.0f / 256);
  EXPECT_EQ(round_to_bf16(-2.1179039478302f), -2.125f);  // 1.0589 -> 1.0625 (x 2)
  EXPECT_TRUE(std::isnan(round_to_bf16(std::nanf(""))));

  TiledImage t;
  t.tile_size = 2;
  t.num_tiles = 1;
  t.tiles = {0, 128, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const auto f = normalize_tiles(t, {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}, true);
  ASSERT_EQ(f.size(), 12u);
  for (float v : f) EXPECT_EQ(v, round_to_bf16(v));
  // CHW: channel 1 of pixel 0 is at index 4 (plane of 4 pixels).
  const auto g = normalize_tiles(t);
  EXPECT_EQ(g[4], (128.0f / 255.0f - 0.456f) / 0.224f);
}

}  // namespace
}  // namespace ivl::vision
