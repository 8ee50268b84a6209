// From an ImageInput to normalised tiles the vision tower takes (spec §2): decode (path, bytes
// or data: URI), dynamic tiling with thumbnail, float32 normalisation, CHW per tile.
#pragma once

#include <cstdint>
#include <vector>

#include "io/model_config.h"
#include "ivl/engine.h"
#include "ivl/status.h"

namespace ivl::runtime {

struct PreparedImage {
  int64_t tiles = 0;
  std::vector<float> pixels;  // [tiles, 3, S, S]
};

// max_tiles <= 0: the model's max_dynamic_patch. Errors name the image (path or "image N").
Result<PreparedImage> prepare_image(const ImageInput& input, const io::ModelConfig& config,
                                    int max_tiles, int64_t max_pixels);

}  // namespace ivl::runtime
