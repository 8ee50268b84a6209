// Llama family (spec §9.5: Yi-34B, Llama-3-70B, and InternLM-based LLMs converted to the native
// layout). Standard HF names; `attention_bias` covers q/k/v/o, `mlp_bias` the MLP.
#include "model/llm/backbone.h"
#include "model/llm/llama_style.h"

namespace ivl::model {
namespace {

Result<LlmSpec> make_spec(const io::TextConfig& text) {
  IVL_RETURN_IF_ERROR(require_silu(text));
  LlmSpec s = generic_llm_spec(text, "llama");
  bool bias = text.raw.value("attention_bias", false);
  s.qkv_bias = bias;
  s.o_bias = bias;
  s.mlp_bias = text.raw.value("mlp_bias", false);
  return s;
}

std::vector<WeightRule> rules(const LlmSpec& spec) {
  return llama_style_rules(spec, hf_llama_names());
}

}  // namespace

const Backbone kLlamaBackbone = {
    .name = "llama",
    .architectures = {"LlamaForCausalLM"},
    .model_types = {"llama"},
    .make_spec = make_spec,
    .weight_rules = rules,
};

}  // namespace ivl::model
