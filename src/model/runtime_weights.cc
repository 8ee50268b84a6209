#include "model/runtime_weights.h"

#include "core/check.h"
#include "core/mapped_file.h"
#include "ops/linear.h"
#include "ops/packed_formats.h"

namespace ivl::model {
namespace {

class Builder {
 public:
  Builder(const ModelDescription& model, RuntimeWeights* out, ThreadPool* pool)
      : table_(model.weights), out_(out), pool_(pool) {
    for (const std::string& f : model.checkpoint->files()) {
      mappings_.push_back(model.checkpoint->file(f)->mapped_bytes());
    }
  }

  // Only pages of the read-only checkpoint mappings may be dropped: on anonymous memory (a
  // converted copy) MADV_DONTNEED would zero data.
  void release_checkpoint_pages(std::span<const std::byte> bytes) const {
    for (const std::span<const std::byte>& m : mappings_) {
      if (bytes.data() >= m.data() && bytes.data() + bytes.size() <= m.data() + m.size()) {
        release_resident_pages(bytes);
        return;
      }
    }
  }

  // Matrices appended from now on are converted to `format`.
  void set_format(WeightFormat format) { format_ = format; }

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
      m->dtype = format_ == WeightFormat::kF32 ? DType::kF32 : r.dtype();
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

  // Packs m into the current format's layout (or the nearest that fits its shape).
  ops::Matrix finish(ops::Matrix m) {
    ops::MatrixLayout layout = ops::MatrixLayout::kRows;
    if (format_ == WeightFormat::kBF16) layout = ops::MatrixLayout::kBF16Panels;
    if (format_ == WeightFormat::kQ8_0) layout = ops::MatrixLayout::kQ8_0;
    if (format_ == WeightFormat::kQ4_0) layout = ops::MatrixLayout::kQ4_0;
    if (layout == ops::MatrixLayout::kQ4_0 && !ops::layout_fits(layout, m.in))
      layout = ops::MatrixLayout::kQ8_0;
    if (layout == ops::MatrixLayout::kQ8_0 && !ops::layout_fits(layout, m.in))
      layout = ops::MatrixLayout::kBF16Panels;
    if (layout == ops::MatrixLayout::kBF16Panels && !ops::layout_fits(layout, m.in))
      layout = ops::MatrixLayout::kRows;
    if (layout == ops::MatrixLayout::kRows) return m;
    const size_t before = out_->arena.bytes_used();
    ops::Matrix packed = ops::pack_matrix(m, layout, out_->arena, pool_);
    out_->owned_bytes += out_->arena.bytes_used() - before;
    // The source rows were read once; drop them from the resident set now, so that peak memory
    // is the converted weights plus one matrix, not plus the whole checkpoint.
    const size_t row_bytes = static_cast<size_t>(m.in) * dtype_size(m.dtype);
    for (const ops::MatrixSegment& seg : m.segments) {
      release_checkpoint_pages({seg.data, static_cast<size_t>(seg.rows) * row_bytes});
    }
    return packed;
  }

  Linear linear(std::initializer_list<std::string> parts, bool bias) {
    Linear l;
    for (const std::string& p : parts) append(&l.w, p + ".weight");
    l.w = finish(std::move(l.w));
    if (bias) {
      for (const std::string& p : parts) {
        std::vector<float> b = vector(p + ".bias");
        l.bias.insert(l.bias.end(), b.begin(), b.end());
      }
    }
    return l;
  }

  // A matrix used as a lookup table (the embedding): never packed.
  ops::Matrix table(const std::string& name) {
    ops::Matrix m;
    append(&m, name);
    return m;
  }

  ops::Matrix matrix(const std::string& name) { return finish(table(name)); }

 private:
  const WeightTable& table_;
  RuntimeWeights* out_;
  ThreadPool* pool_;
  WeightFormat format_ = WeightFormat::kStored;
  std::vector<std::span<const std::byte>> mappings_;
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
  // The embedding is looked up, not multiplied: it stays as stored (f32 copies for kF32).
  w->embed = b.table("llm.embed.weight");
  w->final_norm = b.vector("llm.final_norm.weight");
  w->head = b.matrix(b.has("llm.head.weight") ? "llm.head.weight" : "llm.embed.weight");
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
                                                              WeightFormats formats,
                                                              ThreadPool* pool) {
  auto out = std::make_unique<RuntimeWeights>();
  for (WeightFormat* f : {&formats.llm, &formats.vision}) {
    if (*f == WeightFormat::kAuto) *f = WeightFormat::kBF16;
  }
  out->formats = formats;
  Builder b(model, out.get(), pool);
  auto packed = [](WeightFormat f) {
    return f == WeightFormat::kBF16 || f == WeightFormat::kQ8_0 || f == WeightFormat::kQ4_0;
  };
  b.set_format(formats.vision);
  build_vision(b, model.config, &out->vision);
  out->vision.bf16_math = packed(formats.vision);
  out->projector.norm_w = b.vector("proj.norm.weight");
  out->projector.norm_b = b.vector("proj.norm.bias");
  out->projector.fc1 = b.linear({"proj.fc1"}, true);
  out->projector.fc2 = b.linear({"proj.fc2"}, true);
  b.set_format(formats.llm);
  build_llm(b, model.llm, &out->llm);
  out->llm.bf16_math = packed(formats.llm);
  if (out->arena.bytes_used() > 0 || !out->owned.empty()) {
    // Conversion read the checkpoint once; drop those pages from this process's resident set
    // (still-used views, like the embedding, fault back in from the page cache on access).
    for (const std::string& f : model.checkpoint->files()) {
      release_resident_pages(model.checkpoint->file(f)->mapped_bytes());
    }
  }
  return out;
}

}  // namespace ivl::model
