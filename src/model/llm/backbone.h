// Backbone: what one LLM family contributes — its config mapping and its weight-name table.
// Each family lives in one file (qwen2.cc, qwen3.cc, internlm2.cc, llama.cc, phi3.cc) that
// defines a Backbone; backbone_registry.cc lists them. Nothing else knows family specifics.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "io/model_config.h"
#include "ivl/status.h"
#include "model/llm/llm_spec.h"
#include "model/weight_rules.h"

namespace ivl::model {

struct Backbone {
  std::string_view name;                        // "qwen2"
  std::vector<std::string_view> architectures;  // llm_config.architectures[0] values
  std::vector<std::string_view> model_types;    // text_config.model_type values (native layout)
  // HF config -> spec; family-specific keys are read from text.raw. kUnsupported for values
  // the decoder does not implement (e.g. sliding-window attention).
  Result<LlmSpec> (*make_spec)(const io::TextConfig& text);
  // Rules named as in the family's own *ForCausalLM checkpoint ("model.layers.0.self_attn.
  // q_proj.weight", "lm_head.weight"); the loader adds the InternVL layout prefix.
  std::vector<WeightRule> (*weight_rules)(const LlmSpec& spec);
};

// Chooses by `architecture` when the config names one (original layout), else by `model_type`.
// kUnsupported lists every supported architecture and model type.
Result<const Backbone*> find_backbone(const io::TextConfig& text);

const std::vector<const Backbone*>& all_backbones();

// Backbones, one per file.
extern const Backbone kQwen2Backbone;
extern const Backbone kQwen3Backbone;
extern const Backbone kInternLM2Backbone;
extern const Backbone kLlamaBackbone;
extern const Backbone kPhi3Backbone;

}  // namespace ivl::model
