// Fused projections split by row ranges: InternLM2's grouped wqkv and Phi-3's qkv_proj /
// gate_up_proj. Each source row is filled with its own row index, so the rows a canonical
// weight picks can be read back from its values.
#include <gtest/gtest.h>

#include <cstring>

#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "model/llm/backbone.h"
#include "support/fixtures.h"

namespace ivl::model {
namespace {

io::TextConfig text_config(std::string arch, int64_t hidden, int64_t heads, int64_t kv,
                           int64_t ffn) {
  io::TextConfig t;
  t.architecture = std::move(arch);
  t.hidden_size = hidden;
  t.num_layers = 1;
  t.num_heads = heads;
  t.num_kv_heads = kv;
  t.intermediate_size = ffn;
  t.vocab_size = 10;
  t.raw = nlohmann::json{{"bias", false}};
  return t;
}

// A tensor whose every element equals its row index.
io::TensorToWrite rows_tensor(const std::string& name, Shape shape) {
  io::TensorToWrite t{name, DType::kF32, shape, {}};
  const int64_t cols = shape.size() > 1 ? shape_numel(shape) / shape[0] : 1;
  t.data.resize(static_cast<size_t>(shape_numel(shape)) * 4);
  for (int64_t r = 0; r < shape[0]; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      float v = static_cast<float>(r);
      std::memcpy(t.data.data() + (r * cols + c) * 4, &v, 4);
    }
  }
  return t;
}

// The source row index of each row of a resolved weight.
std::vector<int> picked_rows(const WeightRef& w) {
  std::vector<std::byte> bytes = w.gather_bytes();
  const int64_t cols = w.shape.size() > 1 ? w.numel() / w.shape[0] : 1;
  std::vector<int> rows;
  for (int64_t r = 0; r < w.shape[0]; ++r) {
    float v;
    std::memcpy(&v, bytes.data() + r * cols * 4, 4);
    rows.push_back(static_cast<int>(v));
  }
  return rows;
}

std::vector<int> range(int begin, int end) {
  std::vector<int> v;
  for (int i = begin; i < end; ++i) v.push_back(i);
  return v;
}

std::vector<int> concat(std::initializer_list<std::vector<int>> parts) {
  std::vector<int> v;
  for (const auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

Result<ResolvedWeights> resolve(const Backbone& b, const LlmSpec& spec,
                                const std::vector<io::TensorToWrite>& tensors,
                                const std::string& dir_name,
                                std::unique_ptr<io::Checkpoint>* keep) {
  auto dir = test::scratch_dir(dir_name);
  Status s = io::write_safetensors((dir / "model.safetensors").string(), tensors);
  if (!s.ok()) return s;
  IVL_ASSIGN_OR_RETURN(*keep, io::Checkpoint::open(dir));
  return resolve_weights(b.weight_rules(spec), **keep);
}

TEST(FusedWeights, InternLM2GroupedWqkv) {
  // 4 query heads, 2 KV heads, head_dim 2 -> R = 2, groups of (R + 2) * D = 8 rows:
  // group g: q_{2g} q_{2g+1} k_g v_g.
  auto spec = kInternLM2Backbone.make_spec(text_config("InternLM2ForCausalLM", 8, 4, 2, 16));
  ASSERT_TRUE(spec.ok()) << spec.status().to_string();
  const std::string l = "model.layers.0.";
  std::vector<io::TensorToWrite> t = {
      rows_tensor("model.tok_embeddings.weight", {10, 8}),
      rows_tensor("model.norm.weight", {8}),
      rows_tensor("output.weight", {10, 8}),
      rows_tensor(l + "attention.wqkv.weight", {16, 8}),
      rows_tensor(l + "attention.wo.weight", {8, 8}),
      rows_tensor(l + "attention_norm.weight", {8}),
      rows_tensor(l + "ffn_norm.weight", {8}),
      rows_tensor(l + "feed_forward.w1.weight", {16, 8}),
      rows_tensor(l + "feed_forward.w3.weight", {16, 8}),
      rows_tensor(l + "feed_forward.w2.weight", {8, 16}),
  };
  std::unique_ptr<io::Checkpoint> keep;
  auto r = resolve(kInternLM2Backbone, *spec, t, "internlm2_wqkv", &keep);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(picked_rows(*r->table.find("llm.L0.attn.q.weight")),
            concat({range(0, 4), range(8, 12)}));
  EXPECT_EQ(picked_rows(*r->table.find("llm.L0.attn.k.weight")),
            concat({range(4, 6), range(12, 14)}));
  EXPECT_EQ(picked_rows(*r->table.find("llm.L0.attn.v.weight")),
            concat({range(6, 8), range(14, 16)}));
  EXPECT_FALSE(r->table.find("llm.L0.attn.q.weight")->contiguous());
  EXPECT_EQ(picked_rows(*r->table.find("llm.L0.mlp.gate.weight")), range(0, 16));  // w1 = gate
  EXPECT_EQ(r->table.find("llm.head.weight")->source_name, "output.weight");
  EXPECT_TRUE(r->unused.empty());
}

TEST(FusedWeights, Phi3QkvAndGateUp) {
  // 4 heads, 2 KV heads, head_dim 2: q 8 rows, k 4, v 4.
  auto spec = kPhi3Backbone.make_spec(text_config("Phi3ForCausalLM", 8, 4, 2, 6));
  ASSERT_TRUE(spec.ok());
  const std::string l = "model.layers.0.";
  std::vector<io::TensorToWrite> t = {
      rows_tensor("model.embed_tokens.weight", {10, 8}),
      rows_tensor("model.norm.weight", {8}),
      rows_tensor(l + "self_attn.qkv_proj.weight", {16, 8}),
      rows_tensor(l + "self_attn.o_proj.weight", {8, 8}),
      rows_tensor(l + "input_layernorm.weight", {8}),
      rows_tensor(l + "post_attention_layernorm.weight", {8}),
      rows_tensor(l + "mlp.gate_up_proj.weight", {12, 8}),
      rows_tensor(l + "mlp.down_proj.weight", {8, 6}),
  };
  std::unique_ptr<io::Checkpoint> keep;
  auto r = resolve(kPhi3Backbone, *spec, t, "phi3_fused", &keep);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(picked_rows(*r->table.find("llm.L0.attn.q.weight")), range(0, 8));
  EXPECT_EQ(picked_rows(*r->table.find("llm.L0.attn.k.weight")), range(8, 12));
  EXPECT_EQ(picked_rows(*r->table.find("llm.L0.attn.v.weight")), range(12, 16));
  EXPECT_EQ(picked_rows(*r->table.find("llm.L0.mlp.gate.weight")), range(0, 6));
  EXPECT_EQ(picked_rows(*r->table.find("llm.L0.mlp.up.weight")), range(6, 12));
  EXPECT_EQ(r->table.find("llm.head.weight"), nullptr) << "no lm_head: tied";
}

TEST(FusedWeights, WrongFusedShapeIsReported) {
  auto spec = kPhi3Backbone.make_spec(text_config("Phi3ForCausalLM", 8, 4, 2, 6));
  ASSERT_TRUE(spec.ok());
  const std::string l = "model.layers.0.";
  std::vector<io::TensorToWrite> t = {
      rows_tensor("model.embed_tokens.weight", {10, 8}),
      rows_tensor("model.norm.weight", {8}),
      rows_tensor(l + "self_attn.qkv_proj.weight", {24, 8}),
      rows_tensor(l + "self_attn.o_proj.weight", {8, 8}),
      rows_tensor(l + "input_layernorm.weight", {8}),
      rows_tensor(l + "post_attention_layernorm.weight", {8}),
      rows_tensor(l + "mlp.gate_up_proj.weight", {12, 8}),
      rows_tensor(l + "mlp.down_proj.weight", {8, 6}),
  };
  std::unique_ptr<io::Checkpoint> keep;
  auto r = resolve(kPhi3Backbone, *spec, t, "phi3_bad", &keep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(
                "qkv_proj.weight in model.safetensors: expected [16, 8], found [24, 8]"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace ivl::model
