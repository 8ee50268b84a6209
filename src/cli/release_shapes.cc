#include "cli/release_shapes.h"

#include <cctype>

namespace ivl::cli {
namespace {

// InternViT-300M-448px and -V2_5 (same architecture, different weights): json
// vision_encoders["InternViT-300M-448px"] (verified: CFG_2, CFG_3_1B), spec §3.4.
constexpr VitShape kVit300M = {.name = "InternViT-300M-448px",
                               .hidden = 1024,
                               .layers = 24,
                               .heads = 16,
                               .intermediate = 4096,
                               .layer_norm = true,
                               .qkv_bias = true,
                               .qk_norm = false};

// Qwen2.5-0.5B: json llm_bases (verified from InternVL3-1B's config, CFG_3_1B); the dynamic
// RoPE x2.0 and 32768 positions are InternVL3-1B's llm_config (json checkpoints, verified).
constexpr LlmShape kQwen25_05B = {.name = "Qwen2.5-0.5B-Instruct",
                                  .family = LlmFamily::kQwen2,
                                  .hidden = 896,
                                  .layers = 24,
                                  .heads = 14,
                                  .kv_heads = 2,
                                  .head_dim = 64,
                                  .intermediate = 4864,
                                  .rope_dynamic_factor = 2.0,
                                  .max_positions = 32768};

// Qwen2.5-1.5B: json llm_bases (not verified there); RoPE and positions as InternVL3-1B (the
// json's InternVL3-2B entry: "likely similar"), spec §9.1.
constexpr LlmShape kQwen25_15B = {.name = "Qwen2.5-1.5B-Instruct",
                                  .family = LlmFamily::kQwen2,
                                  .hidden = 1536,
                                  .layers = 28,
                                  .heads = 12,
                                  .kv_heads = 2,
                                  .head_dim = 128,
                                  .intermediate = 8960,
                                  .rope_dynamic_factor = 2.0,
                                  .max_positions = 32768};

// Qwen3 dense: json llm_bases (dims from the base configs, not verified on InternVL3.5);
// plain RoPE, 40960 positions: spec §9.2.
constexpr LlmShape kQwen3_06B = {.name = "Qwen3-0.6B",
                                 .family = LlmFamily::kQwen3,
                                 .hidden = 1024,
                                 .layers = 28,
                                 .heads = 16,
                                 .kv_heads = 8,
                                 .head_dim = 128,
                                 .intermediate = 3072,
                                 .max_positions = 40960};
constexpr LlmShape kQwen3_17B = {.name = "Qwen3-1.7B",
                                 .family = LlmFamily::kQwen3,
                                 .hidden = 2048,
                                 .layers = 28,
                                 .heads = 16,
                                 .kv_heads = 8,
                                 .head_dim = 128,
                                 .intermediate = 6144,
                                 .max_positions = 40960};
constexpr LlmShape kQwen3_8B = {.name = "Qwen3-8B",
                                .family = LlmFamily::kQwen3,
                                .hidden = 4096,
                                .layers = 36,
                                .heads = 32,
                                .kv_heads = 8,
                                .head_dim = 128,
                                .intermediate = 12288,
                                .max_positions = 40960};

// InternLM2.5-7B-chat: json llm_bases (verified: InternVL2-8B's llm_config, CFG_2), spec §9.4.
constexpr LlmShape kInternLM25_7B = {.name = "internlm2_5-7b-chat",
                                     .family = LlmFamily::kInternLM2,
                                     .hidden = 4096,
                                     .layers = 32,
                                     .heads = 32,
                                     .kv_heads = 8,
                                     .head_dim = 128,
                                     .intermediate = 14336,
                                     .rms_eps = 1e-5,
                                     .rope_dynamic_factor = 2.0,
                                     .max_positions = 32768};

// Vocabulary sizes. Qwen2.5 + InternVL's 9 added tokens: 151674 (json InternVL3-1B, verified).
// Qwen3-based InternVL3.5 keeps the base's padded 151936 rows (json llm_bases base_vocab;
// assumed). The real InternLM2 vocabulary is 92553 (json), but mkmodel ships the Qwen tokenizer
// (ids up to 151673), so InternLM2-based imitations use 151674 rows: ~0.5 G more embedding and
// head parameters than the release, which the command states when it runs.
constexpr int64_t kQwen25Vocab = 151674;
constexpr int64_t kQwen3Vocab = 151936;

// Tied heads: InternVL 1.5-3.0 force tie_word_embeddings false and ship lm_head (json
// field_notes; verified for InternVL3-1B); 3.5 follows the base LLM (json base_tie).
const std::vector<ReleaseShape> kReleases = {
    {.name = "InternVL3-1B", .vit = kVit300M, .llm = kQwen25_05B, .vocab = kQwen25Vocab},
    {.name = "InternVL3-2B", .vit = kVit300M, .llm = kQwen25_15B, .vocab = kQwen25Vocab},
    {.name = "InternVL3_5-1B",
     .vit = kVit300M,
     .llm = kQwen3_06B,
     .vocab = kQwen3Vocab,
     .tied = true},
    {.name = "InternVL3_5-2B",
     .vit = kVit300M,
     .llm = kQwen3_17B,
     .vocab = kQwen3Vocab,
     .tied = true},
    {.name = "InternVL2_5-8B", .vit = kVit300M, .llm = kInternLM25_7B, .vocab = kQwen25Vocab},
    {.name = "InternVL3_5-8B", .vit = kVit300M, .llm = kQwen3_8B, .vocab = kQwen3Vocab},
};

std::string normalized(std::string_view name) {
  std::string out;
  for (char c : name) {
    out += c == '.' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

const std::vector<ReleaseShape>& release_shapes() {
  return kReleases;
}

const ReleaseShape* find_release(std::string_view name) {
  const std::string want = normalized(name);
  for (const ReleaseShape& r : kReleases) {
    if (normalized(r.name) == want) return &r;
  }
  return nullptr;
}

std::string release_names() {
  std::string out;
  for (const ReleaseShape& r : kReleases) out += (out.empty() ? "" : ", ") + std::string(r.name);
  return out;
}

}  // namespace ivl::cli
