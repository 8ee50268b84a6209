// Qwen2 / Qwen2.5 (spec §9.1): Llama-style names, q/k/v WITH bias, o without.
#include "model/llm/backbone.h"
#include "model/llm/llama_style.h"

namespace ivl::model {
namespace {

const LlamaStyleNames kNames = {.embed = "model.embed_tokens.weight",
                                .layer = "model.layers.{i}.",
                                .q = "self_attn.q_proj",
                                .k = "self_attn.k_proj",
                                .v = "self_attn.v_proj",
                                .o = "self_attn.o_proj",
                                .q_norm = "",
                                .k_norm = "",
                                .gate = "mlp.gate_proj",
                                .up = "mlp.up_proj",
                                .down = "mlp.down_proj",
                                .attn_norm = "input_layernorm",
                                .mlp_norm = "post_attention_layernorm",
                                .final_norm = "model.norm.weight",
                                .head = "lm_head.weight"};

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
  return llama_style_rules(spec, kNames);
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
