// normalize_tiles(): torchvision ToTensor + Normalize on uint8 tiles (see preprocess.h).
#include <bit>
#include <cmath>
#include <cstring>

#include "vision/preprocess.h"

namespace ivl::vision {

float round_to_bf16(float x) {
  if (std::isnan(x)) return x;
  uint32_t bits = std::bit_cast<uint32_t>(x);
  bits += 0x7FFFu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  return std::bit_cast<float>(bits & 0xFFFF0000u);
}

std::vector<float> normalize_tiles(const TiledImage& tiles, const std::array<double, 3>& mean,
                                   const std::array<double, 3>& std, bool to_bf16) {
  // Only 256 inputs per channel exist, so the exact float computation is tabulated:
  // ToTensor gives float32(x) / 255 (a float32 division), Normalize subtracts the float32 mean
  // and divides by the float32 std (torch.as_tensor(mean, dtype=float32)).
  float table[3][256];
  for (int c = 0; c < 3; ++c) {
    const auto m = static_cast<float>(mean[c]);
    const auto sd = static_cast<float>(std[c]);
    for (int v = 0; v < 256; ++v) {
      float x = static_cast<float>(v) / 255.0f;
      x = x - m;
      x = x / sd;
      table[c][v] = to_bf16 ? round_to_bf16(x) : x;
    }
  }
  const size_t plane = static_cast<size_t>(tiles.tile_size) * tiles.tile_size;
  std::vector<float> out(plane * 3 * tiles.num_tiles);
  for (int t = 0; t < tiles.num_tiles; ++t) {
    const uint8_t* src = tiles.tile(t).data();
    float* dst = out.data() + plane * 3 * t;
    for (size_t i = 0; i < plane; ++i) {
      dst[i] = table[0][src[3 * i]];
      dst[plane + i] = table[1][src[3 * i + 1]];
      dst[2 * plane + i] = table[2][src[3 * i + 2]];
    }
  }
  return out;
}

}  // namespace ivl::vision
