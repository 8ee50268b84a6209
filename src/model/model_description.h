// ModelDescription: a checkpoint directory opened and checked, before any compute — its typed
// config, the LLM backbone and spec, and the complete internal weight table (zero-copy views
// into the memory-mapped safetensors files). Both checkpoint layouts end up here identically.
//
// Lifetime: the weight views point into `checkpoint`'s mappings; keep the description alive as
// long as any view is used. Immutable after open; safe to share between threads.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "io/model_config.h"
#include "ivl/status.h"
#include "model/llm/backbone.h"
#include "model/llm/llm_spec.h"
#include "model/weight_rules.h"
#include "model/weight_table.h"

namespace ivl::model {

struct ModelDescription {
  std::filesystem::path dir;
  io::ModelConfig config;
  const Backbone* backbone = nullptr;
  LlmSpec llm;
  std::unique_ptr<io::Checkpoint> checkpoint;
  WeightTable weights;
  std::vector<std::string> unused_tensors;  // in the checkpoint, not used by this engine

  // The output head is the embedding when the checkpoint has no lm_head (spec §10.2).
  bool tied_head() const { return !weights.contains("llm.head.weight"); }
};

// Opens `dir`: config.json (+ optional files), the safetensors checkpoint (single or sharded),
// the backbone, and resolves every weight. All missing or mis-shaped tensors are reported in
// one error.
Result<ModelDescription> open_model_description(const std::filesystem::path& dir);

// Every weight rule of the model `config` describes (InternViT, projector, the backbone's LLM
// rules with their checkpoint names for the layout).
std::vector<WeightRule> model_weight_rules(const io::ModelConfig& config, const Backbone& backbone,
                                           const LlmSpec& llm);

// The quantized parts a config's quantization block declares (nullopt without a block).
std::optional<QuantizedParts> quantized_parts(const io::ModelConfig& config);
// The row layout of a quantized format (kRows for kStored).
ops::MatrixLayout matrix_layout(io::QuantizedFormat format);

// Checkpoint names under which an LLM tensor named `hf_name` in its own *ForCausalLM checkpoint
// ("model.layers.0.mlp.up_proj.weight", "lm_head.weight") is stored in `layout`.
std::vector<std::string> llm_source_names(io::CheckpointLayout layout, const std::string& hf_name);

}  // namespace ivl::model
