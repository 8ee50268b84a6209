// The SIMD and threaded resize paths give the scalar oracle's bytes (the oracle itself is
// checked against PIL through the fixture tiles), and the resize contract holds.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "vision/encoders.h"
#include "vision/pil_resize.h"

namespace ivl::vision {
namespace {

bool same(const RgbImage& a, const RgbImage& b) {
  return a.width() == b.width() && a.height() == b.height() &&
         std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

TEST(Resize, AllKernelsAndThreadCountsAgreeOnRandomSizes) {
  std::mt19937 rng(7);
  std::vector<ResizeOptions> variants = {{ResizeKernel::kScalar, 3}};
  if (resize_kernel_available(ResizeKernel::kAvx512)) {
    variants.push_back({ResizeKernel::kAvx512, 1});
    variants.push_back({ResizeKernel::kAvx512, 4});
  }
  for (int iter = 0; iter < 30; ++iter) {
    const int w = 1 + static_cast<int>(rng() % 240), h = 1 + static_cast<int>(rng() % 240);
    const int ow = 1 + static_cast<int>(rng() % 300), oh = 1 + static_cast<int>(rng() % 300);
    const RgbImage src = test::synthetic_image(w, h, static_cast<uint32_t>(iter));
    const RgbImage want = resize_bicubic(src, ow, oh, {ResizeKernel::kScalar, 1});
    for (const ResizeOptions& v : variants) {
      ASSERT_TRUE(same(resize_bicubic(src, ow, oh, v), want))
          << w << "x" << h << " -> " << ow << "x" << oh << " with " << resize_kernel_name(v.kernel)
          << " x" << v.threads;
    }
  }
}

TEST(Resize, SameSizeIsACopyAndOneAxisOnlyRunsOnePass) {
  const RgbImage src = test::synthetic_image(31, 17);
  EXPECT_TRUE(same(resize_bicubic(src, 31, 17), src));
  // Only the height changes: every column is resampled independently, so a picture whose
  // columns are constant stays constant along x.
  RgbImage stripes(8, 20);
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 8; ++x) std::memset(stripes.row(y) + 3 * x, y * 10, 3);
  const RgbImage tall = resize_bicubic(stripes, 8, 45);
  for (int y = 0; y < 45; ++y)
    for (int x = 1; x < 8; ++x) ASSERT_EQ(tall.row(y)[3 * x], tall.row(y)[0]);
}

TEST(Resize, ConstantImageStaysConstant) {
  RgbImage flat(50, 40);
  for (size_t i = 0; i < flat.size_bytes(); ++i)
    flat.data()[i] = static_cast<uint8_t>(i % 3 * 100 + 7);
  for (auto [w, h] : {std::pair{448, 448}, {13, 7}, {1, 1}, {200, 3}}) {
    const RgbImage out = resize_bicubic(flat, w, h);
    for (int i = 0; i < w * h; ++i) {
      ASSERT_EQ(out.data()[3 * i], 7);
      ASSERT_EQ(out.data()[3 * i + 1], 107);
      ASSERT_EQ(out.data()[3 * i + 2], 207);
    }
  }
}

TEST(Resize, VeryTallImagesShrinkHeightFirst) {
  // Recent Pillow resizes (W, H > 100 W) in two steps when the height shrinks.
  const RgbImage src = test::synthetic_image(3, 400);
  const RgbImage step = resize_bicubic(test::synthetic_image(3, 400), 3, 50);
  EXPECT_TRUE(same(resize_bicubic(src, 7, 50), resize_bicubic(step, 7, 50)));
}

TEST(Resize, CropCopiesTheBox) {
  const RgbImage src = test::synthetic_image(20, 10);
  const RgbImage c = crop(src, 5, 2, 10, 6);
  for (int y = 0; y < 6; ++y) EXPECT_EQ(std::memcmp(c.row(y), src.row(y + 2) + 15, 30), 0);
}

}  // namespace
}  // namespace ivl::vision
