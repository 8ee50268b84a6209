#include "ops/interpolate.h"

#include <algorithm>
#include <cmath>

namespace ivl::ops {
namespace {

constexpr float kA = -0.75f;

// PyTorch's cubic convolution weights for fractional offset t in [0, 1).
void cubic_weights(float t, float w[4]) {
  auto near = [](float x) { return ((kA + 2) * x - (kA + 3)) * x * x + 1; };         // |x| <= 1
  auto far = [](float x) { return ((kA * x - 5 * kA) * x + 8 * kA) * x - 4 * kA; };  // 1 < |x| < 2
  w[0] = far(t + 1);
  w[1] = near(t);
  w[2] = near(1 - t);
  w[3] = far(2 - t);
}

}  // namespace

std::vector<float> bicubic_resize_hwc(const float* src, int64_t in_h, int64_t in_w, int64_t c,
                                      int64_t out_h, int64_t out_w) {
  std::vector<float> out(static_cast<size_t>(out_h * out_w * c));
  if (in_h == out_h && in_w == out_w) {  // PyTorch copies exactly in this case
    std::copy(src, src + out.size(), out.begin());
    return out;
  }
  const float sy = static_cast<float>(in_h) / static_cast<float>(out_h);
  const float sx = static_cast<float>(in_w) / static_cast<float>(out_w);
  auto clamp = [](int64_t v, int64_t hi) { return std::clamp<int64_t>(v, 0, hi - 1); };
  for (int64_t oy = 0; oy < out_h; ++oy) {
    const float fy = (static_cast<float>(oy) + 0.5f) * sy - 0.5f;
    const auto iy = static_cast<int64_t>(std::floor(fy));
    float wy[4];
    cubic_weights(fy - static_cast<float>(iy), wy);
    for (int64_t ox = 0; ox < out_w; ++ox) {
      const float fx = (static_cast<float>(ox) + 0.5f) * sx - 0.5f;
      const auto ix = static_cast<int64_t>(std::floor(fx));
      float wx[4];
      cubic_weights(fx - static_cast<float>(ix), wx);
      float* o = out.data() + (oy * out_w + ox) * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        float acc = 0.f;
        for (int a = 0; a < 4; ++a) {
          const int64_t yy = clamp(iy - 1 + a, in_h);
          float row = 0.f;
          for (int b = 0; b < 4; ++b)
            row += wx[b] * src[(yy * in_w + clamp(ix - 1 + b, in_w)) * c + ch];
          acc += wy[a] * row;
        }
        o[ch] = acc;
      }
    }
  }
  return out;
}

}  // namespace ivl::ops
