// The image preprocessing contract the model consumes: InternVL's load_image ->
// dynamic_preprocess -> build_transform, reproduced bit for bit (InternVL spec section 2).
//
//   RgbImage (decode.h / image_source.h)
//     -> tile_image(): grid choice (dynamic_tiling.h), Pillow bicubic resize of the whole image
//        to (S*cols, S*rows), row-major crops of S x S, and a thumbnail (the ORIGINAL image
//        resized to S x S) appended only when there is more than one tile and use_thumbnail.
//     -> normalize_tiles(): float32 (x / 255 - mean) / std per channel, CHW per tile
//        (torchvision ToTensor + Normalize), optionally rounded to bf16 as the official chat()
//        does with `.to(torch.bfloat16)` before the vision encoder.
//
// Thread safety: pure functions of their arguments; safe to call concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ivl/status.h"
#include "vision/dynamic_tiling.h"
#include "vision/image.h"
#include "vision/pil_resize.h"

namespace ivl::vision {

// The limits the official code uses: image_size (config force_image_size / vision_config
// image_size, 448), min/max_dynamic_patch (1 / 12), use_thumbnail (true).
struct TilingOptions {
  int image_size = 448;
  int min_num = 1;
  int max_num = 12;
  bool use_thumbnail = true;
  ResizeOptions resize;  // kernel and threads; never changes the bytes
};

// Largest max_num accepted; the candidate list grows as max_num * log(max_num).
inline constexpr int kMaxTilesLimit = 256;

// The request's max_num when it gives one, else the model config's max_dynamic_patch (the
// official chat() passes max_num from the caller; the model card default is the config's 12).
TilingOptions make_tiling_options(int image_size, int min_dynamic_patch, int max_dynamic_patch,
                                  bool use_thumbnail, std::optional<int> requested_max_num);

// Tiles of one image. `tiles` is [num_tiles, S, S, 3] uint8, contiguous, row-major tiles first
// (tile k is column k % cols, row k / cols), the thumbnail last when present.
struct TiledImage {
  Grid grid;
  int tile_size = 448;
  int num_tiles = 0;  // grid.cols * grid.rows + (has_thumbnail ? 1 : 0)
  bool has_thumbnail = false;
  std::vector<uint8_t> tiles;

  size_t tile_bytes() const { return static_cast<size_t>(tile_size) * tile_size * 3; }
  std::span<const uint8_t> tile(int k) const {
    return {tiles.data() + tile_bytes() * static_cast<size_t>(k), tile_bytes()};
  }
};

// kInvalidArgument for options outside 1 <= min_num <= max_num <= kMaxTilesLimit,
// 1 <= image_size <= 4096, or an empty image.
Result<TiledImage> tile_image(const RgbImage& image, const TilingOptions& options);

// [num_tiles, 3, S, S] float32: (float(x) / 255 - mean[c]) / std[c], each step rounded in float
// as torch does. With round_to_bf16 every value is then rounded to the nearest bfloat16
// (ties to even) and stored back as float.
std::vector<float> normalize_tiles(const TiledImage& tiles,
                                   const std::array<double, 3>& mean = {0.485, 0.456, 0.406},
                                   const std::array<double, 3>& std = {0.229, 0.224, 0.225},
                                   bool round_to_bf16 = false);

// Round-to-nearest-even float -> bfloat16 -> float (NaN stays NaN).
float round_to_bf16(float x);

}  // namespace ivl::vision
