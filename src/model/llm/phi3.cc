// Phi-3 (spec §9.6): fused `qkv_proj` (rows q | k | v) and `gate_up_proj` (rows gate | up), no
// biases; both are split by row ranges, without copying.
#include "model/llm/backbone.h"
#include "model/llm/llama_style.h"

namespace ivl::model {
namespace {

Result<LlmSpec> make_spec(const io::TextConfig& text) {
  IVL_RETURN_IF_ERROR(require_silu(text));
  return generic_llm_spec(text, "phi3");
}

std::vector<WeightRule> rules(const LlmSpec& s) {
  std::vector<WeightRule> rules;
  add_embedding_and_head(s, "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
                         &rules);
  const int64_t q = s.q_dim(), kv = s.kv_dim(), ffn = s.intermediate_size, h = s.hidden_size;
  for (int64_t i = 0; i < s.num_layers; ++i) {
    const std::string src = layer_prefix("model.layers.{i}.", i);
    const std::string dst = "llm.L" + std::to_string(i) + ".";
    const std::string qkv = src + "self_attn.qkv_proj.weight";
    const std::string gate_up = src + "mlp.gate_up_proj.weight";
    rules.push_back(rows_rule(dst + "attn.q.weight", {qkv}, {q + 2 * kv, h}, {{0, q}}));
    rules.push_back(rows_rule(dst + "attn.k.weight", {qkv}, {q + 2 * kv, h}, {{q, q + kv}}));
    rules.push_back(
        rows_rule(dst + "attn.v.weight", {qkv}, {q + 2 * kv, h}, {{q + kv, q + 2 * kv}}));
    rules.push_back(plain_rule(dst + "attn.o.weight", {src + "self_attn.o_proj.weight"}, {h, q}));
    rules.push_back(plain_rule(dst + "attn_norm.weight", {src + "input_layernorm.weight"}, {h}));
    rules.push_back(
        plain_rule(dst + "mlp_norm.weight", {src + "post_attention_layernorm.weight"}, {h}));
    rules.push_back(rows_rule(dst + "mlp.gate.weight", {gate_up}, {2 * ffn, h}, {{0, ffn}}));
    rules.push_back(rows_rule(dst + "mlp.up.weight", {gate_up}, {2 * ffn, h}, {{ffn, 2 * ffn}}));
    rules.push_back(plain_rule(dst + "mlp.down.weight", {src + "mlp.down_proj.weight"}, {h, ffn}));
  }
  return rules;
}

}  // namespace

const Backbone kPhi3Backbone = {
    .name = "phi3",
    .architectures = {"Phi3ForCausalLM"},
    .model_types = {"phi3"},
    .make_spec = make_spec,
    .weight_rules = rules,
};

}  // namespace ivl::model
