// Weights in the form the compute code uses, built once from a ModelDescription.
//
// With WeightFormat::kStored, matrices stay in the checkpoint's dtype and memory (views into the
// mmap; fused or regrouped rows become multi-segment matrices); kF32 makes float32 copies; bf16,
// q8_0 and q4_0 pack or quantize them into huge-page memory (ops/packed_formats.h).
// Vectors (norm weights, biases, layer scales, the CLS embedding) are small and are always
// widened to float32; the position embeddings, a matrix used once per image, stay in the
// checkpoint's dtype (StoredVector). Immutable after build; shared by all sessions.
#pragma once

#include <memory>
#include <vector>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "core/weight_arena.h"
#include "ivl/engine.h"
#include "ivl/status.h"
#include "model/model_description.h"
#include "ops/matrix.h"

namespace ivl::model {

// The format of the LLM's matrices and of the vision tower + projector's (ivl::WeightFormat).
// A matrix whose shape a format cannot hold falls back: q4_0 and q8_0 need K % 32 == 0, else
// bf16 (e.g. InternViT's patch embedding, K = 588).
// kAuto resolves, for a float checkpoint, to kBF16 for the LLM (the official inference
// precision) and to kQ8_0 for the vision tower + projector: measured on the fixtures, a q8_0
// vision tower with a bf16 LLM keeps every greedy token of all 12 reference cases (mean KL
// 2e-6 / 1e-5 nat against 6e-7 / 4e-6 with bf16) and encodes a 448 tile ~1.2x faster with
// 270 MB less memory (docs/performance.md). For a part that a quantized checkpoint
// (io::QuantizationConfig) stores as q8_0 / q4_0, kAuto and kStored mean the file's format, used
// in place, and any other format is an error (the float weights are not in the file).
struct WeightFormats {
  WeightFormat llm = WeightFormat::kAuto;
  WeightFormat vision = WeightFormat::kAuto;
};

struct Linear {
  ops::Matrix w;
  std::vector<float> bias;  // empty = no bias
  const float* b() const { return bias.empty() ? nullptr : bias.data(); }
};

// A weight kept as the checkpoint stores it (bf16 in released checkpoints: half the memory of a
// float32 copy), widened exactly when used.
struct StoredVector {
  std::vector<std::byte> bytes;
  DType dtype = DType::kF32;
  int64_t numel = 0;
  std::vector<float> widen() const;
};

struct VitLayerWeights {
  std::vector<float> norm1_w, norm1_b, norm2_w, norm2_b;  // *_b empty for RMSNorm
  Linear qkv;                                             // rows q | k | v, each C
  std::vector<float> q_norm, k_norm;                      // [C], empty without q/k norm
  Linear proj, fc1, fc2;
  std::vector<float> ls1, ls2;
};

struct VisionWeights {
  Linear patch;            // [C, 3·P·P], input flattened (channel, ky, kx)
  std::vector<float> cls;  // [C]
  StoredVector pos;        // [1 + G², C]; 2.1 MB in bf16 for InternViT-300M, widened per image
  std::vector<VitLayerWeights> layers;
  bool bf16_math = false;  // packed formats: attention in bf16 too (ops::AttentionShape::bf16)
};

struct ProjectorWeights {
  std::vector<float> norm_w, norm_b;
  Linear fc1, fc2;
};

struct LlmLayerWeights {
  std::vector<float> attn_norm, mlp_norm;
  Linear qkv;                         // rows q | k | v
  std::vector<float> q_norm, k_norm;  // [head_dim], Qwen3 only
  Linear o;
  Linear gate_up;  // rows gate | up
  Linear down;
};

struct LlmWeights {
  ops::Matrix embed;  // [V, H]
  // The embedding's rows are views of the read-only checkpoint mapping (not a converted copy):
  // a lookup may drop the pages it faulted in, which would otherwise stay in the resident set
  // (fault-around maps 64 KiB per row read: hundreds of MiB over a long chat).
  bool embed_in_checkpoint = false;
  std::vector<float> final_norm;
  ops::Matrix head;  // [V, H]; the embedding when tied
  std::vector<LlmLayerWeights> layers;
  bool bf16_math = false;  // packed formats: prefill attention in bf16 too
};

struct RuntimeWeights {
  VisionWeights vision;
  ProjectorWeights projector;
  LlmWeights llm;
  std::vector<std::unique_ptr<float[]>> owned;  // float32 copies (kF32 only)
  WeightArena arena;  // the LLM's packed and quantized matrices, in huge pages for decode
  // The vision tower's and projector's, in 4 KiB pages. Their products are compute-bound and
  // read each weight panel from cache many times, so huge pages do not speed them up; but on
  // this project's VM host a fresh 2 MiB page costs ~5 ms to fault in (the host backs it lazily:
  // 1 GiB of huge pages took 5–6 s on one thread, 4 KiB pages 0.7 s), which was ~1.5 s of an
  // InternVL3-1B load.
  WeightArena vision_arena{WeightArena::Pages::kSmall};
  WeightFormats formats;   // as resolved (never kAuto)
  size_t owned_bytes = 0;  // bytes of converted copies (both kinds)
};

// Weight bytes one decode step reads: every layer's matrices and the output head (not the
// embedding row, which is looked up, nor the KV cache).
size_t decode_weight_bytes(const LlmWeights& llm);

// The formats `asked` resolves to for a checkpoint with `config` (never kAuto); kInvalidArgument
// when a quantized part is asked for another format than its own.
Result<WeightFormats> resolve_formats(const io::ModelConfig& config, WeightFormats asked);

// Packs or quantizes on `pool` (may be null). Afterwards the checkpoint pages that conversion
// read are dropped from the resident set (they are re-read from the page cache if needed).
Result<std::unique_ptr<RuntimeWeights>> build_runtime_weights(const ModelDescription& model,
                                                              WeightFormats formats,
                                                              ThreadPool* pool = nullptr);

}  // namespace ivl::model
