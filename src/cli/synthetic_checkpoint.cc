#include "cli/synthetic_checkpoint.h"

namespace ivl::cli {
namespace {

using nlohmann::ordered_json;

// Initialisation: matrices, embeddings and the CLS/position embeddings like a trained model's
// scale (std 0.02); norms are identity (weight 1, bias 0); InternViT's layer scales 0.1 so
// the residual stream stays dominated by the embeddings through many layers.
constexpr float kStd = 0.02f;
constexpr float kLayerScale = 0.1f;

// The bos/eos ids of the Qwen tokenizer mkmodel copies (spec §6.1).
constexpr int64_t kBosId = 151643;
constexpr int64_t kEosId = 151645;

class Planner {
 public:
  explicit Planner(std::vector<PlannedTensor>* out) : out_(out) {}
  void random(const std::string& name, Shape shape) {
    out_->push_back({.name = name, .shape = std::move(shape), .std = kStd});
  }
  void constant(const std::string& name, Shape shape, float value) {
    out_->push_back({.name = name, .shape = std::move(shape), .constant = value});
  }
  // nn.Linear [out, in] (+ zero bias [out]).
  void linear(const std::string& name, int64_t out, int64_t in, bool bias) {
    random(name + ".weight", {out, in});
    if (bias) constant(name + ".bias", {out}, 0.f);
  }
  void norm(const std::string& name, int64_t dim, bool bias) {
    constant(name + ".weight", {dim}, 1.f);
    if (bias) constant(name + ".bias", {dim}, 0.f);
  }

 private:
  std::vector<PlannedTensor>* out_;
};

// spec §10.1 (vision_model.*).
void plan_vit(const VitShape& v, int64_t layers, Planner* p) {
  const int64_t c = v.hidden;
  const std::string e = "vision_model.embeddings.";
  p->random(e + "class_embedding", {1, 1, c});
  p->random(e + "patch_embedding.weight", {c, 3, 14, 14});
  p->constant(e + "patch_embedding.bias", {c}, 0.f);
  p->random(e + "position_embedding", {1, 1 + 32 * 32, c});  // 448 / 14 = 32 patches a side
  for (int64_t i = 0; i < layers; ++i) {
    const std::string l = "vision_model.encoder.layers." + std::to_string(i) + ".";
    p->constant(l + "ls1", {c}, kLayerScale);
    p->constant(l + "ls2", {c}, kLayerScale);
    p->linear(l + "attn.qkv", 3 * c, c, v.qkv_bias);
    if (v.qk_norm) {
      p->norm(l + "attn.q_norm", c, /*bias=*/false);
      p->norm(l + "attn.k_norm", c, /*bias=*/false);
    }
    p->linear(l + "attn.proj", c, c, /*bias=*/true);
    p->linear(l + "mlp.fc1", v.intermediate, c, /*bias=*/true);
    p->linear(l + "mlp.fc2", c, v.intermediate, /*bias=*/true);
    p->norm(l + "norm1", c, v.layer_norm);
    p->norm(l + "norm2", c, v.layer_norm);
  }
}

// Qwen2 / Qwen3 with the Hugging Face Llama-style names (spec §9.1, §9.2).
void plan_llama_style(const ReleaseShape& r, int64_t layers, Planner* p) {
  const LlmShape& s = r.llm;
  const int64_t h = s.hidden, q = s.heads * s.head_dim, kv = s.kv_heads * s.head_dim;
  const bool bias = s.family == LlmFamily::kQwen2;  // Qwen2: q/k/v bias; Qwen3: none
  p->random("language_model.model.embed_tokens.weight", {r.vocab, h});
  for (int64_t i = 0; i < layers; ++i) {
    const std::string l = "language_model.model.layers." + std::to_string(i) + ".";
    p->linear(l + "self_attn.q_proj", q, h, bias);
    p->linear(l + "self_attn.k_proj", kv, h, bias);
    p->linear(l + "self_attn.v_proj", kv, h, bias);
    p->linear(l + "self_attn.o_proj", h, q, /*bias=*/false);
    if (s.family == LlmFamily::kQwen3) {
      p->norm(l + "self_attn.q_norm", s.head_dim, /*bias=*/false);
      p->norm(l + "self_attn.k_norm", s.head_dim, /*bias=*/false);
    }
    p->linear(l + "mlp.gate_proj", s.intermediate, h, /*bias=*/false);
    p->linear(l + "mlp.up_proj", s.intermediate, h, /*bias=*/false);
    p->linear(l + "mlp.down_proj", h, s.intermediate, /*bias=*/false);
    p->norm(l + "input_layernorm", h, /*bias=*/false);
    p->norm(l + "post_attention_layernorm", h, /*bias=*/false);
  }
  p->norm("language_model.model.norm", h, /*bias=*/false);
  if (!r.tied) p->random("language_model.lm_head.weight", {r.vocab, h});
}

// InternLM2: its own names and the grouped fused wqkv, (heads + 2 kv) * head_dim rows (§9.4).
// Random rows need no grouping: any row order is a valid checkpoint.
void plan_internlm2(const ReleaseShape& r, int64_t layers, Planner* p) {
  const LlmShape& s = r.llm;
  const int64_t h = s.hidden;
  p->random("language_model.model.tok_embeddings.weight", {r.vocab, h});
  for (int64_t i = 0; i < layers; ++i) {
    const std::string l = "language_model.model.layers." + std::to_string(i) + ".";
    p->linear(l + "attention.wqkv", (s.heads + 2 * s.kv_heads) * s.head_dim, h, false);
    p->linear(l + "attention.wo", h, s.heads * s.head_dim, false);
    p->linear(l + "feed_forward.w1", s.intermediate, h, false);
    p->linear(l + "feed_forward.w3", s.intermediate, h, false);
    p->linear(l + "feed_forward.w2", h, s.intermediate, false);
    p->norm(l + "attention_norm", h, false);
    p->norm(l + "ffn_norm", h, false);
  }
  p->norm("language_model.model.norm", h, false);
  if (!r.tied) p->random("language_model.output.weight", {r.vocab, h});
}

// mlp1 = LayerNorm(4C) -> Linear(4C, H) -> GELU -> Linear(H, H) (spec §5; downsample 0.5).
void plan_projector(const ReleaseShape& r, Planner* p) {
  const int64_t in = 4 * r.vit.hidden, h = r.llm.hidden;
  p->norm("mlp1.0", in, /*bias=*/true);
  p->linear("mlp1.1", h, in, /*bias=*/true);
  p->linear("mlp1.3", h, h, /*bias=*/true);
}

ordered_json vision_config(const VitShape& v, int64_t layers) {
  return {{"architectures", {"InternVisionModel"}},
          {"model_type", "intern_vit_6b"},  // the config class's name for every InternViT
          {"hidden_size", v.hidden},
          {"num_hidden_layers", layers},
          {"num_attention_heads", v.heads},
          {"intermediate_size", v.intermediate},
          {"image_size", 448},
          {"patch_size", 14},
          {"num_channels", 3},
          {"hidden_act", "gelu"},
          {"norm_type", v.layer_norm ? "layer_norm" : "rms_norm"},
          {"layer_norm_eps", 1e-6},
          {"qk_normalization", v.qk_norm},
          {"qkv_bias", v.qkv_bias},
          {"use_flash_attn", false},
          {"drop_path_rate", 0.0},
          {"dropout", 0.0},
          {"attention_dropout", 0.0},
          {"torch_dtype", "bfloat16"}};
}

ordered_json llm_config(const ReleaseShape& r, int64_t layers) {
  const LlmShape& s = r.llm;
  ordered_json j;
  switch (s.family) {
    case LlmFamily::kQwen2:
      j["architectures"] = {"Qwen2ForCausalLM"};
      j["model_type"] = "qwen2";
      break;
    case LlmFamily::kQwen3:
      j["architectures"] = {"Qwen3ForCausalLM"};
      j["model_type"] = "qwen3";
      break;
    case LlmFamily::kInternLM2:
      j["architectures"] = {"InternLM2ForCausalLM"};
      j["model_type"] = "internlm2";
      break;
  }
  j["hidden_size"] = s.hidden;
  j["num_hidden_layers"] = layers;
  j["num_attention_heads"] = s.heads;
  j["num_key_value_heads"] = s.kv_heads;
  if (s.family == LlmFamily::kQwen3) j["head_dim"] = s.head_dim;  // others: hidden / heads
  j["intermediate_size"] = s.intermediate;
  j["vocab_size"] = r.vocab;
  j["tie_word_embeddings"] = r.tied;
  j["rms_norm_eps"] = s.rms_eps;
  j["rope_theta"] = s.rope_theta;
  if (s.rope_dynamic_factor > 0) {
    j["rope_scaling"] = {{"factor", s.rope_dynamic_factor}, {"type", "dynamic"}};
  }
  j["max_position_embeddings"] = s.max_positions;
  j["hidden_act"] = "silu";
  j["torch_dtype"] = "bfloat16";
  j["bos_token_id"] = kBosId;
  j["eos_token_id"] = kEosId;
  if (s.family == LlmFamily::kInternLM2) j["bias"] = false;
  if (s.family == LlmFamily::kQwen3) j["attention_bias"] = false;
  if (s.family != LlmFamily::kInternLM2) j["use_sliding_window"] = false;
  j["use_cache"] = true;
  return j;
}

}  // namespace

std::vector<PlannedTensor> plan_tensors(const ReleaseShape& release, const SyntheticOptions& o) {
  std::vector<PlannedTensor> out;
  Planner p(&out);
  plan_vit(release.vit, o.vit_layers, &p);
  if (release.llm.family == LlmFamily::kInternLM2) {
    plan_internlm2(release, o.llm_layers, &p);
  } else {
    plan_llama_style(release, o.llm_layers, &p);
  }
  plan_projector(release, &p);
  return out;
}

ordered_json make_config(const ReleaseShape& release, const SyntheticOptions& o) {
  ordered_json j;
  j["architectures"] = {"InternVLChatModel"};
  j["model_type"] = "internvl_chat";
  j["template"] = release.template_name;
  j["downsample_ratio"] = 0.5;
  j["ps_version"] = release.ps_version;
  j["select_layer"] = -1;
  j["force_image_size"] = 448;
  j["dynamic_image_size"] = true;
  j["use_thumbnail"] = true;
  j["min_dynamic_patch"] = 1;
  j["max_dynamic_patch"] = release.max_dynamic_patch;
  j["tie_word_embeddings"] = release.tied;
  j["torch_dtype"] = "bfloat16";
  j["vision_config"] = vision_config(release.vit, o.vit_layers);
  j["llm_config"] = llm_config(release, o.llm_layers);
  j["mkmodel"] = {
      {"like", release.name},
      {"seed", o.seed},
      {"note", "random weights in the shapes of OpenGVLab/" + std::string(release.name) +
                   ", for benchmarks only (written by `internvl mkmodel`)"}};
  return j;
}

}  // namespace ivl::cli
