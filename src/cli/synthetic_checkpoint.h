// What `internvl mkmodel` writes for a release: the tensor list of the original
// `InternVLChatModel` layout (spec §10.1: vision_model.*, language_model.*, mlp1.*) with each
// tensor's initialisation, and the matching config.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/release_shapes.h"
#include "core/tensor_view.h"

namespace ivl::cli {

struct PlannedTensor {
  std::string name;
  Shape shape;
  float std = 0.f;       // > 0: random normal with this standard deviation
  float constant = 0.f;  // otherwise every element equals this
};

struct SyntheticOptions {
  int64_t vit_layers = 0;  // as many as the release has unless truncated
  int64_t llm_layers = 0;
  uint64_t seed = 0;
};

// Tensors in the order of the PyTorch state dict (vision, LLM, projector), all bf16.
std::vector<PlannedTensor> plan_tensors(const ReleaseShape& release, const SyntheticOptions& o);

// config.json of the release (original layout), with the layer counts of `o` and a
// "mkmodel" entry recording that the weights are random.
nlohmann::ordered_json make_config(const ReleaseShape& release, const SyntheticOptions& o);

}  // namespace ivl::cli
