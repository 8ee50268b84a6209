#include "model/vision/vision_weights.h"

#include <cmath>

namespace ivl::model {
namespace {

using io::CheckpointLayout;

// Per-layer names: [0] original, then native (current and pre-4.52 transformers prefixes, and
// OpenGVLab's internvl_custom2hf variant that keeps some original suffixes).
struct VitNames {
  std::vector<std::string> prefixes;  // layer prefix with {i}
  std::string q, k, v;                // separate projections (native only)
  std::string qkv;                    // fused (original only)
  std::vector<std::string> q_norm, k_norm;
  std::string proj, fc1, fc2, norm1, norm2, ls1, ls2;
};

const VitNames kOriginal = {.prefixes = {"vision_model.encoder.layers.{i}."},
                            .q = "",
                            .k = "",
                            .v = "",
                            .qkv = "attn.qkv",
                            .q_norm = {"attn.q_norm"},
                            .k_norm = {"attn.k_norm"},
                            .proj = "attn.proj",
                            .fc1 = "mlp.fc1",
                            .fc2 = "mlp.fc2",
                            .norm1 = "norm1",
                            .norm2 = "norm2",
                            .ls1 = "ls1",
                            .ls2 = "ls2"};

const VitNames kNative = {
    .prefixes = {"model.vision_tower.encoder.layer.{i}.", "vision_tower.encoder.layer.{i}."},
    .q = "attention.q_proj",
    .k = "attention.k_proj",
    .v = "attention.v_proj",
    .qkv = "",
    .q_norm = {"attention.q_norm", "attn.q_norm"},
    .k_norm = {"attention.k_norm", "attn.k_norm"},
    .proj = "attention.projection_layer",
    .fc1 = "mlp.fc1",
    .fc2 = "mlp.fc2",
    .norm1 = "layernorm_before",
    .norm2 = "layernorm_after",
    .ls1 = "lambda_1",
    .ls2 = "lambda_2"};

std::string with_layer(const std::string& pattern, int64_t i) {
  std::string out = pattern;
  out.replace(out.find("{i}"), 3, std::to_string(i));
  return out;
}

// Every prefix × suffix combination, in order, as candidates.
std::vector<std::string> names(const std::vector<std::string>& prefixes,
                               const std::vector<std::string>& suffixes, int64_t layer,
                               const std::string& tail) {
  std::vector<std::string> out;
  for (const auto& p : prefixes) {
    for (const auto& s : suffixes) out.push_back(with_layer(p, layer) + s + tail);
  }
  return out;
}

void add_embeddings(const io::VisionConfig& v, CheckpointLayout layout,
                    std::vector<WeightRule>* r) {
  const int64_t c = v.hidden_size, g = v.grid_side();
  const Shape pos = {1, 1 + g * g, c};
  const Shape patch = {c, v.num_channels, v.patch_size, v.patch_size};
  if (layout == CheckpointLayout::kOriginal) {
    const std::string e = "vision_model.embeddings.";
    r->push_back(plain_rule("vit.cls_token", {e + "class_embedding"}, {1, 1, c}));
    r->push_back(plain_rule("vit.patch_embed.weight", {e + "patch_embedding.weight"}, patch));
    r->push_back(plain_rule("vit.patch_embed.bias", {e + "patch_embedding.bias"}, {c}));
    r->push_back(plain_rule("vit.pos_embed", {e + "position_embedding"}, pos));
    return;
  }
  auto both = [](const std::string& s) {
    return std::vector<std::string>{"model.vision_tower.embeddings." + s,
                                    "vision_tower.embeddings." + s};
  };
  r->push_back(plain_rule("vit.cls_token", both("cls_token"), {1, 1, c}));
  r->push_back(
      plain_rule("vit.patch_embed.weight", both("patch_embeddings.projection.weight"), patch));
  r->push_back(plain_rule("vit.patch_embed.bias", both("patch_embeddings.projection.bias"), {c}));
  r->push_back(plain_rule("vit.pos_embed", both("position_embeddings"), pos));
}

}  // namespace

std::vector<WeightRule> internvit_rules(const io::VisionConfig& v, CheckpointLayout layout) {
  std::vector<WeightRule> r;
  add_embeddings(v, layout, &r);
  const VitNames& n = layout == CheckpointLayout::kOriginal ? kOriginal : kNative;
  const int64_t c = v.hidden_size, ffn = v.intermediate_size;
  const bool layer_norm = v.norm == io::VisionNorm::kLayerNorm;
  for (int64_t i = 0; i < v.num_layers; ++i) {
    const std::string dst = "vit.L" + std::to_string(i) + ".";
    auto src = [&](const std::string& suffix, const std::string& tail) {
      return names(n.prefixes, {suffix}, i, tail);
    };
    if (layout == CheckpointLayout::kOriginal) {
      // attn.qkv rows: [0, C) q, [C, 2C) k, [2C, 3C) v (spec §3.2).
      const char* parts[3] = {"q", "k", "v"};
      for (int p = 0; p < 3; ++p) {
        RowRange rows{p * c, (p + 1) * c};
        r.push_back(rows_rule(dst + "attn." + parts[p] + ".weight", src(n.qkv, ".weight"),
                              {3 * c, c}, {rows}));
        if (v.qkv_bias) {
          r.push_back(
              rows_rule(dst + "attn." + parts[p] + ".bias", src(n.qkv, ".bias"), {3 * c}, {rows}));
        }
      }
    } else {
      for (auto [part, name] : {std::pair{"q", &n.q}, {"k", &n.k}, {"v", &n.v}}) {
        r.push_back(plain_rule(dst + "attn." + part + ".weight", src(*name, ".weight"), {c, c}));
        if (v.qkv_bias)
          r.push_back(plain_rule(dst + "attn." + part + ".bias", src(*name, ".bias"), {c}));
      }
    }
    if (v.qk_norm) {
      r.push_back(
          plain_rule(dst + "attn.q_norm.weight", names(n.prefixes, n.q_norm, i, ".weight"), {c}));
      r.push_back(
          plain_rule(dst + "attn.k_norm.weight", names(n.prefixes, n.k_norm, i, ".weight"), {c}));
    }
    r.push_back(plain_rule(dst + "attn.proj.weight", src(n.proj, ".weight"), {c, c}));
    r.push_back(plain_rule(dst + "attn.proj.bias", src(n.proj, ".bias"), {c}));
    r.push_back(plain_rule(dst + "mlp.fc1.weight", src(n.fc1, ".weight"), {ffn, c}));
    r.push_back(plain_rule(dst + "mlp.fc1.bias", src(n.fc1, ".bias"), {ffn}));
    r.push_back(plain_rule(dst + "mlp.fc2.weight", src(n.fc2, ".weight"), {c, ffn}));
    r.push_back(plain_rule(dst + "mlp.fc2.bias", src(n.fc2, ".bias"), {c}));
    for (auto [norm, name] : {std::pair{"norm1", &n.norm1}, {"norm2", &n.norm2}}) {
      r.push_back(plain_rule(dst + norm + ".weight", src(*name, ".weight"), {c}));
      if (layer_norm) r.push_back(plain_rule(dst + norm + ".bias", src(*name, ".bias"), {c}));
    }
    r.push_back(plain_rule(dst + "ls1", src(n.ls1, ""), {c}));
    r.push_back(plain_rule(dst + "ls2", src(n.ls2, ""), {c}));
  }
  return r;
}

std::vector<WeightRule> projector_rules(const io::ModelConfig& config, int64_t h) {
  const double ratio = config.downsample_ratio;
  const auto in = static_cast<int64_t>(
      std::llround(static_cast<double>(config.vision.hidden_size) / (ratio * ratio)));
  auto src = [&](const std::string& original,
                 const std::string& native) -> std::vector<std::string> {
    if (config.layout == io::CheckpointLayout::kOriginal) return {"mlp1." + original};
    return {"model.multi_modal_projector." + native, "multi_modal_projector." + native};
  };
  return {
      plain_rule("proj.norm.weight", src("0.weight", "layer_norm.weight"), {in}),
      plain_rule("proj.norm.bias", src("0.bias", "layer_norm.bias"), {in}),
      plain_rule("proj.fc1.weight", src("1.weight", "linear_1.weight"), {h, in}),
      plain_rule("proj.fc1.bias", src("1.bias", "linear_1.bias"), {h}),
      plain_rule("proj.fc2.weight", src("3.weight", "linear_2.weight"), {h, h}),
      plain_rule("proj.fc2.bias", src("3.bias", "linear_2.bias"), {h}),
  };
}

}  // namespace ivl::model
