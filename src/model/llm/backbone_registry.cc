#include "model/llm/backbone.h"

namespace ivl::model {

const std::vector<const Backbone*>& all_backbones() {
  static const std::vector<const Backbone*> kAll = {
      &kQwen2Backbone, &kQwen3Backbone, &kInternLM2Backbone, &kLlamaBackbone, &kPhi3Backbone};
  return kAll;
}

Result<const Backbone*> find_backbone(const io::TextConfig& text) {
  for (const Backbone* b : all_backbones()) {
    if (!text.architecture.empty()) {
      for (auto a : b->architectures) {
        if (a == text.architecture) return b;
      }
    } else {
      for (auto t : b->model_types) {
        if (t == text.model_type) return b;
      }
    }
  }
  std::string archs, types;
  for (const Backbone* b : all_backbones()) {
    for (auto a : b->architectures) archs += (archs.empty() ? "" : ", ") + std::string(a);
    for (auto t : b->model_types) types += (types.empty() ? "" : ", ") + std::string(t);
  }
  std::string what = text.architecture.empty() ? "model_type \"" + text.model_type + "\""
                                               : "architecture \"" + text.architecture + "\"";
  return Status::unsupported("LLM " + what + " is not supported (architectures: " + archs +
                             "; model types: " + types + ")");
}

LlmSpec generic_llm_spec(const io::TextConfig& text, std::string backbone) {
  LlmSpec s;
  s.backbone = std::move(backbone);
  s.hidden_size = text.hidden_size;
  s.num_layers = text.num_layers;
  s.num_heads = text.num_heads;
  s.num_kv_heads = text.num_kv_heads;
  s.head_dim = text.effective_head_dim();
  s.intermediate_size = text.intermediate_size;
  s.vocab_size = text.vocab_size;
  s.max_position_embeddings = text.max_position_embeddings;
  s.rms_norm_eps = text.rms_norm_eps;
  s.rope = text.rope;
  s.bos_token_id = text.bos_token_id;
  s.eos_token_ids = text.eos_token_ids;
  return s;
}

}  // namespace ivl::model
