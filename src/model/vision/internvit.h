// InternViT forward pass (spec §3) and the visual-token path to the LLM: pixel shuffle (§4) and
// the mlp1 projector (§5).
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "io/model_config.h"
#include "model/runtime_weights.h"
#include "model/taps.h"

namespace ivl::model {

// pixel_values [T, 3, S, S] (normalised, float32; S = config.image.image_size) ->
// features of the selected layer without CLS, [T, g², C] (g = S / patch). Tiles are processed
// as one batch for the dense layers. Taps: vit.embeddings, vit.L{i}.out ([T·(1+g²), C]).
std::vector<float> encode_tiles(const io::ModelConfig& config, const VisionWeights& weights,
                                const float* pixel_values, int64_t tiles, ThreadPool* pool,
                                TapSink* taps);

// [T, g, g, C] -> [T, (g·r)², C/r²] (spec §4; ps_version "v1" keeps the transposed token order).
std::vector<float> pixel_shuffle(const float* features, int64_t tiles, int64_t grid,
                                 int64_t channels, double downsample_ratio,
                                 const std::string& ps_version);

// mlp1: LayerNorm(eps 1e-5) -> Linear -> GELU(erf) -> Linear; x [n, in] -> [n, H]. Tap
// projector.out.
std::vector<float> project(const ProjectorWeights& weights, const float* x, int64_t n,
                           ThreadPool* pool, TapSink* taps);

// Tiles go through the tower kTilesPerBatch at a time. They are independent all the way (attention
// stays within a tile; norms, MLPs, pixel shuffle and projector act per row), so the rows are the
// same as from one batch, while the activations held are those of one tile (~60 MiB in float32
// for a 448 tile) however many tiles a request has (measured: a 7-tile image peaked at 1678 MiB
// instead of 2028 MiB when all tiles went at once, and encoded faster per tile).
inline constexpr int64_t kTilesPerBatch = 1;

// The whole visual path: pixel values -> LLM-ready rows [T·tokens_per_tile, H]. With taps, all
// tiles in one batch (tap rows cover every tile).
std::vector<float> image_features(const io::ModelConfig& config, const RuntimeWeights& weights,
                                  const float* pixel_values, int64_t tiles, ThreadPool* pool,
                                  TapSink* taps);

}  // namespace ivl::model
