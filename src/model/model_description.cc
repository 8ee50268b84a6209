#include "model/model_description.h"

#include "model/vision/vision_weights.h"

namespace ivl::model {

std::vector<std::string> llm_source_names(io::CheckpointLayout layout, const std::string& hf_name) {
  if (layout == io::CheckpointLayout::kOriginal) return {"language_model." + hf_name};
  // Native: `model.language_model.*` + top-level `lm_head.weight`; checkpoints saved by
  // transformers < 4.52 used `language_model.model.*` + `language_model.lm_head.weight`.
  const std::string kModel = "model.";
  if (hf_name.compare(0, kModel.size(), kModel) == 0) {
    std::string rest = hf_name.substr(kModel.size());
    return {"model.language_model." + rest, "language_model.model." + rest};
  }
  return {hf_name, "language_model." + hf_name};
}

std::vector<WeightRule> model_weight_rules(const io::ModelConfig& config, const Backbone& backbone,
                                           const LlmSpec& llm) {
  std::vector<WeightRule> rules = internvit_rules(config.vision, config.layout);
  for (WeightRule& r : projector_rules(config, llm.hidden_size)) rules.push_back(std::move(r));
  for (WeightRule& r : backbone.weight_rules(llm)) {
    std::vector<std::string> sources;
    for (const std::string& s : r.sources) {
      for (std::string& n : llm_source_names(config.layout, s)) sources.push_back(std::move(n));
    }
    r.sources = std::move(sources);
    rules.push_back(std::move(r));
  }
  return rules;
}

ops::MatrixLayout matrix_layout(io::QuantizedFormat format) {
  switch (format) {
    case io::QuantizedFormat::kQ8_0:
      return ops::MatrixLayout::kQ8_0;
    case io::QuantizedFormat::kQ4_0:
      return ops::MatrixLayout::kQ4_0;
    case io::QuantizedFormat::kStored:
      break;
  }
  return ops::MatrixLayout::kRows;
}

std::optional<QuantizedParts> quantized_parts(const io::ModelConfig& config) {
  if (!config.quantization) return std::nullopt;
  return QuantizedParts{.llm = matrix_layout(config.quantization->llm),
                        .vision = matrix_layout(config.quantization->vision)};
}

Result<ModelDescription> open_model_description(const std::filesystem::path& dir) {
  ModelDescription d;
  d.dir = dir;
  IVL_ASSIGN_OR_RETURN(d.config, io::load_model_config(dir));
  IVL_ASSIGN_OR_RETURN(d.backbone, find_backbone(d.config.text));
  IVL_ASSIGN_OR_RETURN(d.llm, d.backbone->make_spec(d.config.text));
  IVL_ASSIGN_OR_RETURN(d.checkpoint, io::Checkpoint::open(dir));

  const std::vector<WeightRule> rules = model_weight_rules(d.config, *d.backbone, d.llm);
  auto resolved = resolve_weights(rules, *d.checkpoint, quantized_parts(d.config));
  if (!resolved.ok()) return resolved.status().with_context(dir.string());
  d.weights = std::move(resolved->table);
  d.unused_tensors = std::move(resolved->unused);
  return d;
}

}  // namespace ivl::model
