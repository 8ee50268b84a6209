// InternLM2 / InternLM2.5 (spec §9.4). Own names (tok_embeddings, attention.wqkv, feed_forward.
// w1/w3/w2, output) and a grouped fused `wqkv`: per KV head g, (R+2)·D rows holding
// [q_{gR}, ..., q_{gR+R-1}, k_g, v_g], R = heads / kv_heads. The split below selects row ranges.
#include "model/llm/backbone.h"
#include "model/llm/llama_style.h"

namespace ivl::model {
namespace {

Result<LlmSpec> make_spec(const io::TextConfig& text) {
  IVL_RETURN_IF_ERROR(require_silu(text));
  LlmSpec s = generic_llm_spec(text, "internlm2");
  bool bias = text.raw.value("bias", true);  // InternLM2Config default; releases write false
  s.qkv_bias = bias;
  s.o_bias = bias;
  return s;
}

// Rows of q (all heads, in head order), k and v inside the grouped wqkv.
struct GroupedRows {
  std::vector<RowRange> q, k, v;
};

GroupedRows grouped_qkv_rows(const LlmSpec& s) {
  const int64_t d = s.head_dim;
  const int64_t r = s.num_heads / s.num_kv_heads;
  GroupedRows out;
  for (int64_t g = 0; g < s.num_kv_heads; ++g) {
    const int64_t base = g * (r + 2) * d;
    out.q.push_back({base, base + r * d});
    out.k.push_back({base + r * d, base + (r + 1) * d});
    out.v.push_back({base + (r + 1) * d, base + (r + 2) * d});
  }
  return out;
}

std::vector<WeightRule> rules(const LlmSpec& s) {
  std::vector<WeightRule> rules;
  add_embedding_and_head(s, "model.tok_embeddings.weight", "model.norm.weight", "output.weight",
                         &rules);
  const GroupedRows rows = grouped_qkv_rows(s);
  const int64_t fused = s.q_dim() + 2 * s.kv_dim();
  for (int64_t i = 0; i < s.num_layers; ++i) {
    const std::string src = layer_prefix("model.layers.{i}.", i);
    const std::string dst = "llm.L" + std::to_string(i) + ".";
    const std::string wqkv = src + "attention.wqkv";
    rules.push_back(
        rows_rule(dst + "attn.q.weight", {wqkv + ".weight"}, {fused, s.hidden_size}, rows.q));
    rules.push_back(
        rows_rule(dst + "attn.k.weight", {wqkv + ".weight"}, {fused, s.hidden_size}, rows.k));
    rules.push_back(
        rows_rule(dst + "attn.v.weight", {wqkv + ".weight"}, {fused, s.hidden_size}, rows.v));
    if (s.qkv_bias) {
      rules.push_back(rows_rule(dst + "attn.q.bias", {wqkv + ".bias"}, {fused}, rows.q));
      rules.push_back(rows_rule(dst + "attn.k.bias", {wqkv + ".bias"}, {fused}, rows.k));
      rules.push_back(rows_rule(dst + "attn.v.bias", {wqkv + ".bias"}, {fused}, rows.v));
    }
    rules.push_back(plain_rule(dst + "attn.o.weight", {src + "attention.wo.weight"},
                               {s.hidden_size, s.q_dim()}));
    if (s.o_bias)
      rules.push_back(
          plain_rule(dst + "attn.o.bias", {src + "attention.wo.bias"}, {s.hidden_size}));
    rules.push_back(
        plain_rule(dst + "attn_norm.weight", {src + "attention_norm.weight"}, {s.hidden_size}));
    rules.push_back(
        plain_rule(dst + "mlp_norm.weight", {src + "ffn_norm.weight"}, {s.hidden_size}));
    rules.push_back(plain_rule(dst + "mlp.gate.weight", {src + "feed_forward.w1.weight"},
                               {s.intermediate_size, s.hidden_size}));
    rules.push_back(plain_rule(dst + "mlp.up.weight", {src + "feed_forward.w3.weight"},
                               {s.intermediate_size, s.hidden_size}));
    rules.push_back(plain_rule(dst + "mlp.down.weight", {src + "feed_forward.w2.weight"},
                               {s.hidden_size, s.intermediate_size}));
  }
  return rules;
}

}  // namespace

const Backbone kInternLM2Backbone = {
    .name = "internlm2",
    .architectures = {"InternLM2ForCausalLM"},
    .model_types = {"internlm2"},
    .make_spec = make_spec,
    .weight_rules = rules,
};

}  // namespace ivl::model
