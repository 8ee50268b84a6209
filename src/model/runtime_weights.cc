#include "model/runtime_weights.h"

#include "core/check.h"
#include "ops/linear.h"

namespace ivl::model {
namespace {

class Builder {
 public:
  Builder(const WeightTable& table, WeightPrecision precision, RuntimeWeights* out)
      : table_(table), precision_(precision), out_(out) {}

  const WeightRef& ref(const std::string& name) const {
    const WeightRef* r = table_.find(name);
    IVL_CHECK_MSG(r != nullptr, name.c_str());  // resolve_weights guaranteed required weights
    return *r;
  }
  bool has(const std::string& name) const { return table_.contains(name); }

  std::vector<float> vector(const std::string& name) const {
    if (!has(name)) return {};
    const WeightRef& r = ref(name);
    std::vector<std::byte> bytes = r.gather_bytes();
    std::vector<float> v(static_cast<size_t>(r.numel()));
    ops::widen_row(bytes.data(), r.dtype(), r.numel(), v.data());
    return v;
  }

  // Appends the rows of weight `name` (a [rows, ...] tensor flattened to [rows, in]) to m.
  void append(ops::Matrix* m, const std::string& name) {
    const WeightRef& r = ref(name);
    const int64_t in = r.numel() / r.shape[0];
    if (m->segments.empty() && m->out == 0) {
      m->in = in;
      m->dtype = precision_ == WeightPrecision::kFloat32 ? DType::kF32 : r.dtype();
    }
    IVL_CHECK(m->in == in);
    const size_t row_bytes = static_cast<size_t>(in) * dtype_size(r.dtype());
    std::vector<RowRange> rows =
        r.rows.empty() ? std::vector<RowRange>{{0, r.source.shape[0]}} : r.rows;
    for (const RowRange& rr : rows) {
      const std::byte* src = r.source.data + static_cast<size_t>(rr.begin) * row_bytes;
      const int64_t n = rr.end - rr.begin;
      if (m->dtype == r.dtype()) {
        m->append(src, n);
        continue;
      }
      // Converted copy (float32 path, or a matrix whose parts differ in dtype).
      auto buf = std::make_unique<float[]>(static_cast<size_t>(n * in));
      for (int64_t i = 0; i < n; ++i) {
        ops::widen_row(src + static_cast<size_t>(i) * row_bytes, r.dtype(), in, buf.get() + i * in);
      }
      IVL_CHECK(m->dtype == DType::kF32);
      m->append(reinterpret_cast<const std::byte*>(buf.get()), n);
      out_->owned_bytes += static_cast<size_t>(n * in) * 4;
      out_->owned.push_back(std::move(buf));
    }
  }

  Linear linear(std::initializer_list<std::string> parts, bool bias) {
    Linear l;
    for (const std::string& p : parts) append(&l.w, p + ".weight");
    if (bias) {
      for (const std::string& p : parts) {
        std::vector<float> b = vector(p + ".bias");
        l.bias.insert(l.bias.end(), b.begin(), b.end());
      }
    }
    return l;
  }

  ops::Matrix matrix(const std::string& name) {
    ops::Matrix m;
    append(&m, name);
    return m;
  }

 private:
  const WeightTable& table_;
  WeightPrecision precision_;
  RuntimeWeights* out_;
};

void build_vision(Builder& b, const io::ModelConfig& c, VisionWeights* v) {
  v->patch.w = b.matrix("vit.patch_embed.weight");
  v->patch.bias = b.vector("vit.patch_embed.bias");
  v->cls = b.vector("vit.cls_token");
  v->pos = b.vector("vit.pos_embed");
  for (int64_t i = 0; i < c.vision.num_layers; ++i) {
    const std::string p = "vit.L" + std::to_string(i) + ".";
    VitLayerWeights l;
    l.norm1_w = b.vector(p + "norm1.weight");
    l.norm1_b = b.vector(p + "norm1.bias");
    l.norm2_w = b.vector(p + "norm2.weight");
    l.norm2_b = b.vector(p + "norm2.bias");
    l.qkv = b.linear({p + "attn.q", p + "attn.k", p + "attn.v"}, c.vision.qkv_bias);
    l.q_norm = b.vector(p + "attn.q_norm.weight");
    l.k_norm = b.vector(p + "attn.k_norm.weight");
    l.proj = b.linear({p + "attn.proj"}, true);
    l.fc1 = b.linear({p + "mlp.fc1"}, true);
    l.fc2 = b.linear({p + "mlp.fc2"}, true);
    l.ls1 = b.vector(p + "ls1");
    l.ls2 = b.vector(p + "ls2");
    v->layers.push_back(std::move(l));
  }
}

void build_llm(Builder& b, const LlmSpec& s, LlmWeights* w) {
  w->embed = b.matrix("llm.embed.weight");
  w->final_norm = b.vector("llm.final_norm.weight");
  w->head = b.has("llm.head.weight") ? b.matrix("llm.head.weight") : w->embed;
  for (int64_t i = 0; i < s.num_layers; ++i) {
    const std::string p = "llm.L" + std::to_string(i) + ".";
    LlmLayerWeights l;
    l.attn_norm = b.vector(p + "attn_norm.weight");
    l.mlp_norm = b.vector(p + "mlp_norm.weight");
    l.qkv = b.linear({p + "attn.q", p + "attn.k", p + "attn.v"}, s.qkv_bias);
    l.q_norm = b.vector(p + "attn.q_norm.weight");
    l.k_norm = b.vector(p + "attn.k_norm.weight");
    l.o = b.linear({p + "attn.o"}, s.o_bias);
    l.gate_up = b.linear({p + "mlp.gate", p + "mlp.up"}, s.mlp_bias);
    l.down = b.linear({p + "mlp.down"}, s.mlp_bias);
    w->layers.push_back(std::move(l));
  }
}

}  // namespace

Result<std::unique_ptr<RuntimeWeights>> build_runtime_weights(const ModelDescription& model,
                                                              WeightPrecision precision) {
  auto out = std::make_unique<RuntimeWeights>();
  Builder b(model.weights, precision, out.get());
  build_vision(b, model.config, &out->vision);
  out->projector.norm_w = b.vector("proj.norm.weight");
  out->projector.norm_b = b.vector("proj.norm.bias");
  out->projector.fc1 = b.linear({"proj.fc1"}, true);
  out->projector.fc2 = b.linear({"proj.fc2"}, true);
  build_llm(b, model.llm, &out->llm);
  return out;
}

}  // namespace ivl::model
