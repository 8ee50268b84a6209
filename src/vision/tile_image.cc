// tile_image(): InternVL dynamic_preprocess on an RgbImage (see preprocess.h).
#include <cstring>
#include <string>
#include <thread>

#include "vision/preprocess.h"

namespace ivl::vision {

TilingOptions make_tiling_options(int image_size, int min_dynamic_patch, int max_dynamic_patch,
                                  bool use_thumbnail, std::optional<int> requested_max_num) {
  TilingOptions o;
  o.image_size = image_size;
  o.min_num = min_dynamic_patch;
  o.max_num = requested_max_num.value_or(max_dynamic_patch);
  o.use_thumbnail = use_thumbnail;
  return o;
}

Result<TiledImage> tile_image(const RgbImage& image, const TilingOptions& o) {
  if (o.min_num < 1 || o.max_num < o.min_num || o.max_num > kMaxTilesLimit) {
    return Status::invalid_argument(
        "tiling: need 1 <= min_num <= max_num <= " + std::to_string(kMaxTilesLimit) +
        ", got min_num " + std::to_string(o.min_num) + ", max_num " + std::to_string(o.max_num));
  }
  if (o.image_size < 1 || o.image_size > 4096) {
    return Status::invalid_argument("tiling: image_size " + std::to_string(o.image_size) +
                                    " outside 1..4096");
  }
  if (image.empty()) return Status::invalid_argument("tiling: the image is empty");

  const int s = o.image_size;
  TiledImage out;
  out.grid = closest_grid(image.width(), image.height(), candidate_grids(o.min_num, o.max_num), s);
  out.tile_size = s;
  const int blocks = out.grid.cols * out.grid.rows;
  out.has_thumbnail = o.use_thumbnail && blocks != 1;
  out.num_tiles = blocks + (out.has_thumbnail ? 1 : 0);
  out.tiles.assign(out.tile_bytes() * static_cast<size_t>(out.num_tiles), 0);

  // The thumbnail is resized from the original image, independently of the grid resize, so
  // with threads to spare the two run side by side.
  RgbImage thumbnail;
  ResizeOptions grid_resize = o.resize;
  std::thread thumbnail_worker;
  if (out.has_thumbnail) {
    ResizeOptions thumb_resize = o.resize;
    if (o.resize.threads > 1) {
      thumb_resize.threads = 1;
      grid_resize.threads = o.resize.threads - 1;
      thumbnail_worker =
          std::thread([&, thumb_resize] { thumbnail = resize_bicubic(image, s, s, thumb_resize); });
    } else {
      thumbnail = resize_bicubic(image, s, s, thumb_resize);
    }
  }
  const RgbImage resized = resize_bicubic(image, s * out.grid.cols, s * out.grid.rows, grid_resize);
  const size_t tile_row = static_cast<size_t>(s) * 3;
  for (int k = 0; k < blocks; ++k) {
    const int col = k % out.grid.cols, row = k / out.grid.cols;
    uint8_t* dst = out.tiles.data() + out.tile_bytes() * k;
    for (int y = 0; y < s; ++y) {
      std::memcpy(dst + tile_row * y, resized.row(row * s + y) + tile_row * col, tile_row);
    }
  }
  if (thumbnail_worker.joinable()) thumbnail_worker.join();
  if (out.has_thumbnail) {
    std::memcpy(out.tiles.data() + out.tile_bytes() * blocks, thumbnail.data(), out.tile_bytes());
  }
  return out;
}

}  // namespace ivl::vision
