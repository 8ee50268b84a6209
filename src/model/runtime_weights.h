// Weights in the form the compute code uses, built once from a ModelDescription.
//
// Matrices stay in the checkpoint's dtype and memory (views into the mmap; fused or regrouped
// rows become multi-segment matrices) unless WeightPrecision::kFloat32 asks for float32 copies.
// Vectors (norm weights, biases, layer scales, embeddings of CLS/positions) are small and are
// always widened to float32. Immutable after build; shared by all sessions.
#pragma once

#include <memory>
#include <vector>

#include "ivl/status.h"
#include "model/model_description.h"
#include "ops/matrix.h"

namespace ivl::model {

enum class WeightPrecision {
  kAsStored,  // BF16/F16/F32 as in the checkpoint, widened inside the kernels (no copy)
  kFloat32,   // float32 copies of every matrix (the reference-precision path; 2x memory for BF16)
};

struct Linear {
  ops::Matrix w;
  std::vector<float> bias;  // empty = no bias
  const float* b() const { return bias.empty() ? nullptr : bias.data(); }
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
  std::vector<float> pos;  // [1 + G², C]
  std::vector<VitLayerWeights> layers;
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
  std::vector<float> final_norm;
  ops::Matrix head;  // [V, H]; the embedding when tied
  std::vector<LlmLayerWeights> layers;
};

struct RuntimeWeights {
  VisionWeights vision;
  ProjectorWeights projector;
  LlmWeights llm;
  std::vector<std::unique_ptr<float[]>> owned;  // float32 copies (kFloat32 only)
  size_t owned_bytes = 0;
};

Result<std::unique_ptr<RuntimeWeights>> build_runtime_weights(const ModelDescription& model,
                                                              WeightPrecision precision);

}  // namespace ivl::model
