#include "model/llm/llama_style.h"

namespace ivl::model {

std::string layer_prefix(const std::string& pattern, int64_t layer) {
  std::string out = pattern;
  auto pos = out.find("{i}");
  if (pos != std::string::npos) out.replace(pos, 3, std::to_string(layer));
  return out;
}

void add_embedding_and_head(const LlmSpec& spec, const std::string& embed,
                            const std::string& final_norm, const std::string& head,
                            std::vector<WeightRule>* rules) {
  rules->push_back(plain_rule("llm.embed.weight", {embed}, {spec.vocab_size, spec.hidden_size}));
  rules->push_back(plain_rule("llm.final_norm.weight", {final_norm}, {spec.hidden_size}));
  // Absent head = tied to the embedding (spec §10.2: presence decides, not the config flag).
  rules->push_back(plain_rule("llm.head.weight", {head}, {spec.vocab_size, spec.hidden_size},
                              /*required=*/false));
}

const LlamaStyleNames& hf_llama_names() {
  static const LlamaStyleNames kNames = {.embed = "model.embed_tokens.weight",
                                         .layer = "model.layers.{i}.",
                                         .q = "self_attn.q_proj",
                                         .k = "self_attn.k_proj",
                                         .v = "self_attn.v_proj",
                                         .o = "self_attn.o_proj",
                                         .q_norm = "self_attn.q_norm",
                                         .k_norm = "self_attn.k_norm",
                                         .gate = "mlp.gate_proj",
                                         .up = "mlp.up_proj",
                                         .down = "mlp.down_proj",
                                         .attn_norm = "input_layernorm",
                                         .mlp_norm = "post_attention_layernorm",
                                         .final_norm = "model.norm.weight",
                                         .head = "lm_head.weight"};
  return kNames;
}

std::vector<WeightRule> llama_style_rules(const LlmSpec& s, const LlamaStyleNames& n) {
  std::vector<WeightRule> rules;
  add_embedding_and_head(s, n.embed, n.final_norm, n.head, &rules);
  for (int64_t i = 0; i < s.num_layers; ++i) {
    const std::string src = layer_prefix(n.layer, i);
    const std::string dst = "llm.L" + std::to_string(i) + ".";
    auto linear = [&](const std::string& name, const std::string& hf, int64_t out, int64_t in,
                      bool bias) {
      rules.push_back(plain_rule(dst + name + ".weight", {src + hf + ".weight"}, {out, in}));
      if (bias) rules.push_back(plain_rule(dst + name + ".bias", {src + hf + ".bias"}, {out}));
    };
    rules.push_back(
        plain_rule(dst + "attn_norm.weight", {src + n.attn_norm + ".weight"}, {s.hidden_size}));
    linear("attn.q", n.q, s.q_dim(), s.hidden_size, s.qkv_bias);
    linear("attn.k", n.k, s.kv_dim(), s.hidden_size, s.qkv_bias);
    linear("attn.v", n.v, s.kv_dim(), s.hidden_size, s.qkv_bias);
    linear("attn.o", n.o, s.hidden_size, s.q_dim(), s.o_bias);
    if (s.qk_norm) {
      rules.push_back(
          plain_rule(dst + "attn.q_norm.weight", {src + n.q_norm + ".weight"}, {s.head_dim}));
      rules.push_back(
          plain_rule(dst + "attn.k_norm.weight", {src + n.k_norm + ".weight"}, {s.head_dim}));
    }
    rules.push_back(
        plain_rule(dst + "mlp_norm.weight", {src + n.mlp_norm + ".weight"}, {s.hidden_size}));
    linear("mlp.gate", n.gate, s.intermediate_size, s.hidden_size, s.mlp_bias);
    linear("mlp.up", n.up, s.intermediate_size, s.hidden_size, s.mlp_bias);
    linear("mlp.down", n.down, s.hidden_size, s.intermediate_size, s.mlp_bias);
  }
  return rules;
}

Status require_silu(const io::TextConfig& text) {
  if (text.hidden_act == "silu" || text.hidden_act == "swish") return Status();
  return Status::unsupported("LLM hidden_act \"" + text.hidden_act +
                             "\" is not supported (supported: silu)");
}

}  // namespace ivl::model
