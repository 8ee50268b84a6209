// Qwen3 dense (spec §9.2): Llama-style names, no biases by default (`attention_bias`),
// per-head RMSNorm q_norm/k_norm over head_dim, explicit head_dim (HF default 128).
#include "model/llm/backbone.h"
#include "model/llm/llama_style.h"

namespace ivl::model {
namespace {

Result<LlmSpec> make_spec(const io::TextConfig& text) {
  IVL_RETURN_IF_ERROR(require_silu(text));
  if (text.raw.value("use_sliding_window", false)) {
    return Status::unsupported(
        "Qwen3 use_sliding_window=true is not supported (full attention only)");
  }
  LlmSpec s = generic_llm_spec(text, "qwen3");
  s.head_dim = text.head_dim.value_or(128);  // Qwen3Config's default, not hidden / heads
  bool bias = text.raw.value("attention_bias", false);
  s.qkv_bias = bias;
  s.o_bias = bias;
  s.qk_norm = true;
  return s;
}

std::vector<WeightRule> rules(const LlmSpec& spec) {
  return llama_style_rules(spec, hf_llama_names());
}

}  // namespace

const Backbone kQwen3Backbone = {
    .name = "qwen3",
    .architectures = {"Qwen3ForCausalLM"},
    .model_types = {"qwen3"},
    .make_spec = make_spec,
    .weight_rules = rules,
};

}  // namespace ivl::model
