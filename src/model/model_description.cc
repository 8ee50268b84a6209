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

Result<ModelDescription> open_model_description(const std::filesystem::path& dir) {
  ModelDescription d;
  d.dir = dir;
  IVL_ASSIGN_OR_RETURN(d.config, io::load_model_config(dir));
  IVL_ASSIGN_OR_RETURN(d.backbone, find_backbone(d.config.text));
  IVL_ASSIGN_OR_RETURN(d.llm, d.backbone->make_spec(d.config.text));
  IVL_ASSIGN_OR_RETURN(d.checkpoint, io::Checkpoint::open(dir));

  std::vector<WeightRule> rules = internvit_rules(d.config.vision, d.config.layout);
  for (WeightRule& r : projector_rules(d.config, d.llm.hidden_size)) rules.push_back(std::move(r));
  for (WeightRule& r : d.backbone->weight_rules(d.llm)) {
    std::vector<std::string> sources;
    for (const std::string& s : r.sources) {
      for (std::string& n : llm_source_names(d.config.layout, s)) sources.push_back(std::move(n));
    }
    r.sources = std::move(sources);
    rules.push_back(std::move(r));
  }
  auto resolved = resolve_weights(rules, *d.checkpoint);
  if (!resolved.ok()) return resolved.status().with_context(dir.string());
  d.weights = std::move(resolved->table);
  d.unused_tensors = std::move(resolved->unused);
  return d;
}

}  // namespace ivl::model
