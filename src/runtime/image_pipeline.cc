#include "runtime/image_pipeline.h"

#include "vision/image_source.h"
#include "vision/preprocess.h"

namespace ivl::runtime {

Result<PreparedImage> prepare_image(const ImageInput& input, const io::ModelConfig& config,
                                    int max_tiles, int64_t max_pixels) {
  const vision::DecodeLimits limits{.max_pixels = static_cast<uint64_t>(max_pixels)};
  Result<vision::RgbImage> image =
      Status::invalid_argument("an image input names no path, data URI or bytes");
  if (!input.path.empty()) {
    image = vision::load_image_file(input.path, limits);
  } else if (!input.data_uri.empty()) {
    image = vision::load_image_data_uri(input.data_uri, limits);
  } else if (!input.bytes.empty()) {
    image = vision::load_image_bytes(std::as_bytes(std::span<const uint8_t>(input.bytes)), limits);
  }
  if (!image.ok()) return image.status();
  // Without dynamic_image_size the official code feeds one resized tile (max_num = 1).
  std::optional<int> requested;
  if (max_tiles > 0) requested = max_tiles;
  if (!config.image.dynamic_image_size) requested = 1;
  const vision::TilingOptions options = vision::make_tiling_options(
      static_cast<int>(config.image.image_size), static_cast<int>(config.image.min_dynamic_patch),
      static_cast<int>(config.image.max_dynamic_patch), config.image.use_thumbnail, requested);
  IVL_ASSIGN_OR_RETURN(vision::TiledImage tiles, vision::tile_image(*image, options));
  PreparedImage out;
  out.tiles = tiles.num_tiles;
  out.pixels =
      vision::normalize_tiles(tiles, config.image.mean, config.image.std, /*round_to_bf16=*/false);
  return out;
}

}  // namespace ivl::runtime
