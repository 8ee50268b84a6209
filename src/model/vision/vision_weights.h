// Weight names of InternViT and the mlp1 projector in both checkpoint layouts (spec §10).
#pragma once

#include <vector>

#include "io/model_config.h"
#include "model/weight_rules.h"

namespace ivl::model {

// InternViT: original `vision_model.*` (fused attn.qkv, split here into equal thirds) or native
// `model.vision_tower.*` / older `vision_tower.*` (separate q/k/v).
std::vector<WeightRule> internvit_rules(const io::VisionConfig& vision,
                                        io::CheckpointLayout layout);

// mlp1 = LayerNorm(in) -> Linear(in, H) -> GELU -> Linear(H, H), in = C / downsample_ratio².
std::vector<WeightRule> projector_rules(const io::ModelConfig& config, int64_t llm_hidden);

}  // namespace ivl::model
