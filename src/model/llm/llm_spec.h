// LlmSpec: everything the generic decoder needs to know about one LLM backbone, independent of
// which family it came from (spec §9). Built by the backbone's make_spec from the HF config.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/model_config.h"

namespace ivl::model {

struct LlmSpec {
  std::string backbone;  // registry name: "qwen2", "qwen3", "internlm2", "llama", "phi3"
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t intermediate_size = 0;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  io::RopeConfig rope;
  bool qkv_bias = false;  // q/k/v projections carry a bias (Qwen2)
  bool o_bias = false;    // output projection carries a bias
  bool mlp_bias = false;  // gate/up/down carry biases
  bool qk_norm = false;   // per-head RMSNorm on q and k before RoPE (Qwen3)
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;

  int64_t q_dim() const { return num_heads * head_dim; }
  int64_t kv_dim() const { return num_kv_heads * head_dim; }
};

// The fields every backbone shares, copied from the generic TextConfig.
LlmSpec generic_llm_spec(const io::TextConfig& text, std::string backbone);

}  // namespace ivl::model
