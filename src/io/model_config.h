// Typed configuration of an InternVL checkpoint directory, from either layout:
//  - original   `InternVLChatModel` (trust_remote_code): vision_config + llm_config + template, ...
//  - native     `InternVLForConditionalGeneration` (transformers): vision_config + text_config +
//               image_token_id + vision_feature_layer, ...
// plus preprocessor_config.json and generation_config.json when present (spec §2, §6, §9, §10).
//
// What is generic to every HF decoder config (sizes, RoPE, eos ids) is parsed here. What a
// particular backbone means by its own keys (Qwen2's implicit qkv bias, InternLM2's `bias`, ...)
// is interpreted by that backbone's file in src/model/llm/, which receives `TextConfig::raw`.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ivl/status.h"

namespace ivl::io {

enum class CheckpointLayout { kOriginal, kNative };
std::string_view layout_name(CheckpointLayout layout);  // "original (InternVLChatModel)", ...

enum class VisionNorm { kLayerNorm, kRmsNorm };

// InternViT (spec §3).
struct VisionConfig {
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t intermediate_size = 0;
  int64_t image_size = 448;  // tile side the position embedding was trained for
  int64_t patch_size = 14;
  int64_t num_channels = 3;
  VisionNorm norm = VisionNorm::kRmsNorm;
  double norm_eps = 1e-6;
  bool qkv_bias = false;
  bool qk_norm = false;
  std::string hidden_act = "gelu";

  int64_t head_dim() const { return hidden_size / num_heads; }
  int64_t grid_side() const { return image_size / patch_size; }  // 32 for 448/14
};

enum class RopeKind { kDefault, kLinear, kDynamic, kLongRope, kYarn, kLlama3 };
std::string_view rope_kind_name(RopeKind kind);

// RoPE parameters from `rope_parameters` (transformers v5) or legacy `rope_theta` + `rope_scaling`.
struct RopeConfig {
  RopeKind kind = RopeKind::kDefault;
  double theta = 10000.0;
  double factor = 1.0;                                   // linear / dynamic / yarn / llama3
  std::optional<int64_t> original_max_position;          // longrope / yarn / llama3
  std::vector<double> short_factor, long_factor;         // longrope (Phi-3 "su")
  std::optional<double> attention_factor;                // yarn / longrope override
  double beta_fast = 32.0, beta_slow = 1.0;              // yarn
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  double partial_rotary_factor = 1.0;
};

// The generic part of the LLM's HF config (`llm_config` or `text_config`).
struct TextConfig {
  std::string architecture;  // architectures[0] if given ("Qwen2ForCausalLM"), else ""
  std::string model_type;    // "qwen2", "qwen3", "internlm2", "llama", "phi3", ...
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  std::optional<int64_t> head_dim;  // explicit `head_dim` (Qwen3); else hidden / heads
  int64_t intermediate_size = 0;
  int64_t vocab_size = 0;
  double rms_norm_eps = 1e-6;
  int64_t max_position_embeddings = 0;
  RopeConfig rope;
  bool tie_word_embeddings = false;  // informational: the presence of lm_head decides (spec §10.2)
  std::string hidden_act = "silu";
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  nlohmann::json raw;  // the whole object, for backbone-specific keys

  int64_t effective_head_dim() const { return head_dim.value_or(hidden_size / num_heads); }
};

// Image preprocessing settings (spec §2).
struct ImageConfig {
  int64_t image_size = 448;
  int64_t min_dynamic_patch = 1;
  int64_t max_dynamic_patch = 12;
  bool use_thumbnail = true;
  bool dynamic_image_size = true;
  std::array<double, 3> mean = {0.485, 0.456, 0.406};  // ImageNet
  std::array<double, 3> std = {0.229, 0.224, 0.225};
};

// Sampling defaults from generation_config.json (all optional).
struct GenerationDefaults {
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> max_new_tokens;
  std::optional<bool> do_sample;
  std::optional<double> temperature, top_p, repetition_penalty;
  std::optional<int64_t> top_k;
};

// The block `internvl quantize` adds to config.json (docs/architecture.md "Quantized
// checkpoints"): which parts' linear-layer matrices the safetensors files hold as quantized rows
// (dtype U8, shape [rows, row bytes]) instead of floats.
inline constexpr std::string_view kQuantizationKey = "internvl_cpp_quantization";
inline constexpr int64_t kQuantizationVersion = 1;

enum class QuantizedFormat { kStored, kQ8_0, kQ4_0 };
std::string_view quantized_format_name(QuantizedFormat format);  // "stored", "q8_0", "q4_0"
std::optional<QuantizedFormat> quantized_format_from_name(std::string_view name);

struct QuantizationConfig {
  int64_t version = kQuantizationVersion;
  QuantizedFormat llm = QuantizedFormat::kStored;     // the LLM's matrices (and lm_head)
  QuantizedFormat vision = QuantizedFormat::kStored;  // InternViT + projector matrices
  int64_t block = 32;                                 // weights per scale
  std::string scale = "f16";
  std::string layout = "rows";
  std::string source;  // the directory name it was quantized from (informational, may be empty)
};

struct ModelConfig {
  CheckpointLayout layout = CheckpointLayout::kOriginal;
  std::string architecture;  // "InternVLChatModel" / "InternVLForConditionalGeneration"
  VisionConfig vision;
  TextConfig text;
  // Conversation template name (spec §6.3). Original layout: config `template`. Native layout
  // has none; see docs: taken from `template` if present, else chosen from the LLM type.
  std::string template_name;
  bool template_inferred = false;  // true when template_name was not written in config.json
  std::optional<std::string> system_message;  // config `system_message` (null/absent -> default)
  double downsample_ratio = 0.5;
  std::string ps_version = "v1";  // original-layout default when absent (spec §4); native: "v2"
  int64_t select_layer = -1;      // `select_layer` / `vision_feature_layer`
  ImageConfig image;
  std::optional<int64_t> image_token_id;  // native layout only; else resolved via the tokenizer
  std::optional<GenerationDefaults> generation;
  std::optional<QuantizationConfig> quantization;  // set for a checkpoint from `internvl quantize`
  std::vector<std::string> files_read;  // config.json and the optional files that were found

  // Visual tokens per tile: (image_size / patch)^2 * downsample_ratio^2 (256 for InternVL).
  int64_t num_image_tokens() const;
};

// Reads config.json (+ preprocessor_config.json, generation_config.json) from `model_dir`.
// Every problem in a file is reported at once; unsupported architectures or values list what is
// supported. Codes: kNotFound (no config.json), kCorruptData (bad JSON), kInvalidArgument (bad
// or contradictory fields), kUnsupported (valid but not implemented).
Result<ModelConfig> load_model_config(const std::filesystem::path& model_dir);

// Parses an in-memory config.json; `source` names it in messages.
Result<ModelConfig> parse_model_config(const nlohmann::json& config, const std::string& source);

}  // namespace ivl::io
