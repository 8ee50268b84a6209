// libFuzzer target for the image entry points: decode_image() on raw bytes, or
// load_image_data_uri() when the input starts with "data:". A successful decode is also tiled
// (tiny tile size) so the resize code sees the decoded sizes. Built with clang by run_fuzz.sh.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/check.h"
#include "vision/image_source.h"
#include "vision/preprocess.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // 4 Mi pixels keeps every input fast while still crossing the limit checks.
  const ivl::vision::DecodeLimits limits{.max_pixels = uint64_t{1} << 22};
  ivl::Result<ivl::vision::RgbImage> image = ivl::Status::internal("unset");
  if (size >= 5 && std::memcmp(data, "data:", 5) == 0) {
    image = ivl::vision::load_image_data_uri(
        std::string_view(reinterpret_cast<const char*>(data), size), limits);
  } else {
    image = ivl::vision::decode_image({reinterpret_cast<const std::byte*>(data), size}, limits,
                                      "fuzz input");
  }
  if (!image.ok()) {
    IVL_CHECK(!image.status().message().empty());
    return 0;
  }
  IVL_CHECK(image->width() > 0 && image->height() > 0);
  IVL_CHECK(static_cast<uint64_t>(image->width()) * image->height() <= limits.max_pixels);
  unsigned sum = 0;
  for (uint8_t v : image->bytes()) sum += v;  // every pixel byte must be initialised (MSan)
  if (image->width() * image->height() <= 512 * 512) {
    ivl::vision::TilingOptions options;
    options.image_size = 16;
    options.max_num = 4;
    auto tiles = ivl::vision::tile_image(*image, options);
    IVL_CHECK(tiles.ok());
    sum += tiles->tiles[0];
  }
  return static_cast<int>(sum & 0);
}
