// Shapes and config values of released InternVL checkpoints, for `internvl mkmodel` (random
// weights in the exact shapes of a release, for benchmarks). Sources are named per entry in
// release_shapes.cc: ../shared/docs/internvl-checkpoints.json ("json") and
// ../shared/docs/internvl-spec.md ("spec §N").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ivl::cli {

// InternViT (spec §3.4).
struct VitShape {
  const char* name;
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t intermediate = 0;
  bool layer_norm = true;  // false: RMSNorm (6B)
  bool qkv_bias = true;
  bool qk_norm = false;
};

enum class LlmFamily { kQwen2, kQwen3, kInternLM2 };

struct LlmShape {
  const char* name;  // the base LLM, as named in the json's llm_bases
  LlmFamily family = LlmFamily::kQwen2;
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t intermediate = 0;
  double rms_eps = 1e-6;
  double rope_theta = 1e6;
  double rope_dynamic_factor = 0;  // 0: no rope_scaling
  int64_t max_positions = 0;
};

struct ReleaseShape {
  const char* name;  // the Hugging Face repository name (OpenGVLab/<name>)
  VitShape vit;
  LlmShape llm;
  int64_t vocab = 0;  // rows of the LLM embedding (and head)
  bool tied = false;  // no separate lm_head / output weight
  const char* template_name = "internvl2_5";
  const char* ps_version = "v2";
  int64_t max_dynamic_patch = 12;
};

// Every release mkmodel can imitate, in a stable order.
const std::vector<ReleaseShape>& release_shapes();

// By repository name, case-insensitively, with '.' accepted for '_' ("InternVL3.5-1B" is
// "InternVL3_5-1B"); nullptr when unknown.
const ReleaseShape* find_release(std::string_view name);

// "InternVL3-1B, InternVL3_5-1B, ..." for error messages and --help.
std::string release_names();

}  // namespace ivl::cli
