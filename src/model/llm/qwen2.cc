// Qwen2 / Qwen2.5 (spec §9.1): Llama-style names, q/k/v WITH bias, o without.
#include "model/llm/backbone.h"
#include "model/llm/llama_style.h"

namespace ivl::model {
namespace {

Result<LlmSpec> make_spec(const io::TextConfig& text) {
  IVL_RETURN_IF_ERROR(require_silu(text));
  if (text.raw.value("use_sliding_window", false)) {
    return Status::unsupported(
        "Qwen2 use_sliding_window=true is not supported (full attention only)");
  }
  LlmSpec s = generic_llm_spec(text, "qwen2");
  s.qkv_bias = true;
  return s;
}

std::vector<WeightRule> rules(const LlmSpec& spec) {
  return llama_style_rules(spec, hf_llama_names());
}

}  // namespace

const Backbone kQwen2Backbone = {
    .name = "qwen2",
    .architectures = {"Qwen2ForCausalLM"},
    .model_types = {"qwen2"},
    .make_spec = make_spec,
    .weight_rules = rules,
};

}  // namespace ivl::model
