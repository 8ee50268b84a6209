// The decoder-layer naming shared by HF Llama-style families (Llama, Qwen2, Qwen3): separate
// q/k/v/o projections, gate/up/down MLP, input/post-attention RMSNorm. Each family's file passes
// its own names, so the knowledge of a name stays in that family's file.
#pragma once

#include <string>
#include <vector>

#include "io/json_util.h"
#include "model/llm/llm_spec.h"
#include "model/weight_rules.h"

namespace ivl::model {

struct LlamaStyleNames {
  std::string embed;                // "model.embed_tokens.weight"
  std::string layer;                // "model.layers.{i}." ({i} is replaced by the layer index)
  std::string q, k, v, o;           // "self_attn.q_proj", ...   (".weight"/".bias" appended)
  std::string q_norm, k_norm;       // "self_attn.q_norm" (used when spec.qk_norm)
  std::string gate, up, down;       // "mlp.gate_proj", ...
  std::string attn_norm, mlp_norm;  // "input_layernorm", "post_attention_layernorm"
  std::string final_norm;           // "model.norm.weight"
  std::string head;                 // "lm_head.weight" (optional: absent means tied to embed)
};

// The names transformers uses for LlamaForCausalLM, Qwen2ForCausalLM and Qwen3ForCausalLM
// (q_norm/k_norm only exist, and are only asked for, when spec.qk_norm).
const LlamaStyleNames& hf_llama_names();

std::vector<WeightRule> llama_style_rules(const LlmSpec& spec, const LlamaStyleNames& names);

// "model.layers.{i}." with {i} = layer.
std::string layer_prefix(const std::string& pattern, int64_t layer);

// The rules every family shares outside the layers: embedding, final norm, optional head.
void add_embedding_and_head(const LlmSpec& spec, const std::string& embed,
                            const std::string& final_norm, const std::string& head,
                            std::vector<WeightRule>* rules);

// hidden_act must be SiLU for every supported family's MLP.
Status require_silu(const io::TextConfig& text);

}  // namespace ivl::model
