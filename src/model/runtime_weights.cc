#include "model/runtime_weights.h"

#include <algorithm>

#include "core/check.h"
#include "core/mapped_file.h"
#include "ops/linear.h"
#include "ops/packed_formats.h"

namespace ivl::model {
namespace {

// How a user asks for each part's format (named in error messages).
constexpr const char* kLlmFormatOption = "--quant / EngineOptions::llm_weights";
constexpr const char* kVisionFormatOption = "--vision-quant / EngineOptions::vision_weights";

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
  bool in_checkpoint(std::span<const std::byte> bytes) const {
    for (const std::span<const std::byte>& m : mappings_) {
      if (bytes.data() >= m.data() && bytes.data() + bytes.size() <= m.data() + m.size()) {
        return true;
      }
    }
    return false;
  }
  void release_checkpoint_pages(std::span<const std::byte> bytes) const {
    if (in_checkpoint(bytes)) release_resident_pages(bytes);
  }
  // Every row segment of m lies in a checkpoint mapping.
  bool in_checkpoint(const ops::Matrix& m) const {
    if (ops::is_bf16_panels(m.layout) || m.segments.empty()) return false;
    for (const ops::MatrixSegment& s : m.segments) {
      if (!in_checkpoint({s.data, static_cast<size_t>(s.rows) * m.row_bytes()})) return false;
    }
    return true;
  }

  // Matrices appended from now on are converted to `format`, into `arena`; `option` is how a
  // user asks for this part's format (for error messages).
  void set_part(WeightFormat format, WeightArena* arena, const char* option) {
    format_ = format;
    arena_ = arena;
    option_ = option;
  }

  // The first conversion error; once there is one, no more matrices are converted.
  const Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }

  const WeightRef& ref(const std::string& name) const {
    const WeightRef* r = table_.find(name);
    IVL_CHECK_MSG(r != nullptr, name.c_str());  // resolve_weights guaranteed required weights
    return *r;
  }
  bool has(const std::string& name) const { return table_.contains(name); }

  StoredVector stored_vector(const std::string& name) const {
    const WeightRef& r = ref(name);
    return {.bytes = r.gather_bytes(), .dtype = r.dtype(), .numel = r.numel()};
  }

  std::vector<float> vector(const std::string& name) const {
    if (!has(name)) return {};
    return stored_vector(name).widen();
  }

  // Appends the rows of weight `name` (a [rows, ...] tensor flattened to [rows, in]) to m, a
  // kRows matrix.
  void append(ops::Matrix* m, const std::string& name) {
    const WeightRef& r = ref(name);
    IVL_CHECK_MSG(!r.quantized(), name.c_str());
    const int64_t in = r.numel() / r.shape[0];
    if (m->segments.empty() && m->out == 0) {
      m->in = in;
      m->dtype = format_ == WeightFormat::kF32 ? DType::kF32 : r.dtype();
    }
    IVL_CHECK(m->in == in);
    const size_t row_bytes = static_cast<size_t>(in) * dtype_size(r.dtype());
    for (const RowRange& rr : row_ranges(r)) {
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

  static std::vector<RowRange> row_ranges(const WeightRef& r) {
    return r.rows.empty() ? std::vector<RowRange>{{0, r.source.shape[0]}} : r.rows;
  }

  // The layout the current format gives a matrix with `in` columns (the fallbacks of
  // WeightFormats: q8_0 / q4_0 -> bf16 -> as stored).
  ops::MatrixLayout layout_for(int64_t in) const {
    // bf16 is kept as the compact panels: the same values, 0.75 of the bytes for decode to read.
    constexpr ops::MatrixLayout kBF16 = ops::MatrixLayout::kBF16Compact;
    ops::MatrixLayout layout = ops::MatrixLayout::kRows;
    if (format_ == WeightFormat::kBF16) layout = kBF16;
    if (format_ == WeightFormat::kQ8_0) layout = ops::MatrixLayout::kQ8_0;
    if (format_ == WeightFormat::kQ4_0) layout = ops::MatrixLayout::kQ4_0;
    if (ops::is_quantized_rows(layout)) {
      layout = ops::quantized_layout_for(layout, in);
      if (layout == ops::MatrixLayout::kRows) layout = kBF16;
    }
    if (layout == kBF16 && !ops::layout_fits(layout, in)) layout = ops::MatrixLayout::kRows;
    return layout;
  }

  // A matrix of which at least one part is stored as quantized rows (a quantized checkpoint):
  // those rows are used in place; float parts (none in files `internvl quantize` writes) are
  // quantized into the arena like any matrix at load.
  ops::Matrix quantized(const std::vector<std::string>& names) {
    const WeightRef& first = ref(names.front());
    const int64_t in = first.shape[1];
    const ops::MatrixLayout layout = layout_for(in);
    ops::Matrix m;
    m.layout = layout;
    m.dtype = DType::kU8;
    m.in = in;
    for (const std::string& name : names) {
      const WeightRef& r = ref(name);
      IVL_CHECK(r.shape.size() == 2 && r.shape[1] == in);
      if (r.quantized()) {
        // resolve_weights checked the row bytes against the config's format, and
        // build_runtime_weights resolved this part's format to the same one.
        IVL_CHECK_MSG(r.layout == layout, name.c_str());
        for (const RowRange& rr : row_ranges(r)) {
          m.append(r.source.data + static_cast<size_t>(rr.begin) * r.source_row_bytes(),
                   rr.end - rr.begin);
        }
        continue;
      }
      ops::Matrix part;
      append(&part, name);
      const ops::Matrix packed = finish(std::move(part), {name});
      if (!ok()) return m;
      IVL_CHECK(packed.layout == layout && packed.segments.size() == 1);
      m.append(packed.segments[0].data, packed.out);
    }
    return m;
  }

  // Packs m, the rows of weights `names` in that order, into the current format's layout (or the
  // nearest that fits its shape). After an error (kept in status()) returns m unconverted.
  ops::Matrix finish(ops::Matrix m, const std::vector<std::string>& names) {
    const ops::MatrixLayout layout = layout_for(m.in);
    if (layout == ops::MatrixLayout::kRows || !ok()) return m;
    const size_t before = arena_->bytes_used();
    // The source rows are read once: each block's checkpoint pages are dropped from the resident
    // set as soon as it is converted, so that peak memory is the converted weights plus one
    // block, not plus the matrix (a tied head's source is the 259 MiB embedding) or the
    // checkpoint.
    Result<ops::Matrix> packed = ops::pack_matrix(
        m, layout, *arena_, pool_,
        [&](int64_t r0, int64_t r1) { release_checkpoint_rows(m, r0, r1); },
        [&](int64_t row) { return source_row(names, row); });
    out_->owned_bytes += arena_->bytes_used() - before;
    if (!packed.ok()) {
      const Status& s = packed.status();
      status_ =
          s.code() == StatusCode::kUnsupported
              ? Status(s.code(), s.message() + "; load this part as bf16 (" + option_ + ") instead")
              : s;
      return m;
    }
    return std::move(packed).value();
  }

  // "tensor 'model.layers.3.mlp.up_proj.weight' row 17": where row `row` of the matrix made of
  // the rows of weights `names`, in that order, lies in the checkpoint.
  std::string source_row(const std::vector<std::string>& names, int64_t row) const {
    for (const std::string& name : names) {
      const WeightRef& r = ref(name);
      for (const RowRange& rr : row_ranges(r)) {
        if (row < rr.end - rr.begin) {
          return "tensor '" + r.source_name + "' row " + std::to_string(rr.begin + row);
        }
        row -= rr.end - rr.begin;
      }
    }
    IVL_CHECK_MSG(false, "source_row: past the matrix's rows");
    return {};
  }

  // Drops the checkpoint pages of rows [r0, r1) of m (a kRows matrix), segment by segment.
  void release_checkpoint_rows(const ops::Matrix& m, int64_t r0, int64_t r1) const {
    const size_t row_bytes = static_cast<size_t>(m.in) * dtype_size(m.dtype);
    int64_t base = 0;
    for (const ops::MatrixSegment& seg : m.segments) {
      const int64_t b = std::max(r0, base), e = std::min(r1, base + seg.rows);
      if (b < e) {
        release_checkpoint_pages({seg.data + static_cast<size_t>(b - base) * row_bytes,
                                  static_cast<size_t>(e - b) * row_bytes});
      }
      base += seg.rows;
    }
  }

  Linear linear(std::initializer_list<std::string> parts, bool bias) {
    Linear l;
    std::vector<std::string> names;
    bool any_quantized = false;
    for (const std::string& p : parts) {
      names.push_back(p + ".weight");
      any_quantized |= ref(names.back()).quantized();
    }
    if (any_quantized) {
      l.w = quantized(names);
    } else {
      for (const std::string& n : names) append(&l.w, n);
      l.w = finish(std::move(l.w), names);
    }
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

  ops::Matrix matrix(const std::string& name) {
    if (ref(name).quantized()) return quantized({name});
    return finish(table(name), {name});
  }

 private:
  const WeightTable& table_;
  RuntimeWeights* out_;
  ThreadPool* pool_;
  WeightFormat format_ = WeightFormat::kStored;
  WeightArena* arena_ = nullptr;
  const char* option_ = "";
  Status status_;
  std::vector<std::span<const std::byte>> mappings_;
};

void build_vision(Builder& b, const io::ModelConfig& c, VisionWeights* v) {
  v->patch.w = b.matrix("vit.patch_embed.weight");
  v->patch.bias = b.vector("vit.patch_embed.bias");
  v->cls = b.vector("vit.cls_token");
  v->pos = b.stored_vector("vit.pos_embed");
  for (int64_t i = 0; i < c.vision.num_layers && b.ok(); ++i) {
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
  w->embed_in_checkpoint = b.in_checkpoint(w->embed);
  w->final_norm = b.vector("llm.final_norm.weight");
  w->head = b.matrix(b.has("llm.head.weight") ? "llm.head.weight" : "llm.embed.weight");
  for (int64_t i = 0; i < s.num_layers && b.ok(); ++i) {
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

std::vector<float> StoredVector::widen() const {
  std::vector<float> v(static_cast<size_t>(numel));
  ops::widen_row(bytes.data(), dtype, numel, v.data());
  return v;
}

Result<WeightFormats> resolve_formats(const io::ModelConfig& config, WeightFormats asked) {
  struct Part {
    WeightFormat* format;
    std::optional<io::QuantizedFormat> in_file;
    const char* what;
    const char* option;
    WeightFormat float_default;
  };
  std::optional<io::QuantizedFormat> llm, vision;
  if (config.quantization) {
    llm = config.quantization->llm;
    vision = config.quantization->vision;
  }
  // What kAuto means for a float part (see runtime_weights.h for why).
  for (const Part& p : {Part{&asked.llm, llm, "LLM", kLlmFormatOption, WeightFormat::kBF16},
                        Part{&asked.vision, vision, "vision tower and projector",
                             kVisionFormatOption, WeightFormat::kQ8_0}}) {
    WeightFormat file = WeightFormat::kAuto;
    if (p.in_file == io::QuantizedFormat::kQ8_0) file = WeightFormat::kQ8_0;
    if (p.in_file == io::QuantizedFormat::kQ4_0) file = WeightFormat::kQ4_0;
    if (file == WeightFormat::kAuto) {  // a float part: converted at load as asked
      if (*p.format == WeightFormat::kAuto) *p.format = p.float_default;
      continue;
    }
    // A quantized part is used as stored; its float weights are gone.
    const WeightFormat f = *p.format;
    if (f == WeightFormat::kAuto || f == WeightFormat::kStored || f == file) {
      *p.format = file;
      continue;
    }
    return Status::invalid_argument(
        std::string("the ") + p.what + " matrices of this checkpoint are quantized to " +
        weight_format_name(file) + " in the file (\"" + std::string(io::kQuantizationKey) +
        "\" in config.json), so they cannot be loaded as " + weight_format_name(f) + " (" +
        p.option + " accepts auto, stored or " + weight_format_name(file) + " here); for " +
        weight_format_name(f) + ", load or quantize from the original float checkpoint");
  }
  return asked;
}

size_t decode_weight_bytes(const LlmWeights& llm) {
  size_t bytes = llm.head.bytes();
  for (const LlmLayerWeights& l : llm.layers) {
    bytes += l.qkv.w.bytes() + l.o.w.bytes() + l.gate_up.w.bytes() + l.down.w.bytes();
  }
  return bytes;
}

Result<std::unique_ptr<RuntimeWeights>> build_runtime_weights(const ModelDescription& model,
                                                              WeightFormats formats,
                                                              ThreadPool* pool) {
  auto out = std::make_unique<RuntimeWeights>();
  auto resolved = resolve_formats(model.config, formats);
  if (!resolved.ok()) return resolved.status().with_context(model.dir.string());
  formats = *resolved;
  out->formats = formats;
  Builder b(model, out.get(), pool);
  auto packed = [](WeightFormat f) {
    return f == WeightFormat::kBF16 || f == WeightFormat::kQ8_0 || f == WeightFormat::kQ4_0;
  };
  b.set_part(formats.vision, &out->vision_arena, kVisionFormatOption);
  build_vision(b, model.config, &out->vision);
  out->vision.bf16_math = packed(formats.vision);
  out->projector.norm_w = b.vector("proj.norm.weight");
  out->projector.norm_b = b.vector("proj.norm.bias");
  out->projector.fc1 = b.linear({"proj.fc1"}, true);
  out->projector.fc2 = b.linear({"proj.fc2"}, true);
  b.set_part(formats.llm, &out->arena, kLlmFormatOption);
  if (b.ok()) build_llm(b, model.llm, &out->llm);
  if (!b.ok()) return b.status().with_context(model.dir.string());
  out->llm.bf16_math = packed(formats.llm);
  if (!model.config.quantization &&
      (out->arena.bytes_used() + out->vision_arena.bytes_used() > 0 || !out->owned.empty())) {
    // Conversion read the checkpoint once; drop those pages from this process's resident set
    // (still-used views, like the embedding, fault back in from the page cache on access).
    // Not for a quantized checkpoint: its matrices are used in place from the mapping (the
    // few converted ones were released one by one in finish()).
    for (const std::string& f : model.checkpoint->files()) {
      release_resident_pages(model.checkpoint->file(f)->mapped_bytes());
    }
  }
  return out;
}

}  // namespace ivl::model

namespace ivl {

// Declared in include/ivl/engine.h; defined here, in the lowest library that needs the names.
const char* weight_format_name(WeightFormat format) {
  switch (format) {
    case WeightFormat::kAuto:
      return "auto";
    case WeightFormat::kStored:
      return "stored";
    case WeightFormat::kF32:
      return "f32";
    case WeightFormat::kBF16:
      return "bf16";
    case WeightFormat::kQ8_0:
      return "q8_0";
    case WeightFormat::kQ4_0:
      return "q4_0";
  }
  return "?";
}

std::optional<WeightFormat> weight_format_from_name(std::string_view name) {
  for (WeightFormat f : {WeightFormat::kAuto, WeightFormat::kStored, WeightFormat::kF32,
                         WeightFormat::kBF16, WeightFormat::kQ8_0, WeightFormat::kQ4_0}) {
    if (name == weight_format_name(f)) return f;
  }
  return std::nullopt;
}

}  // namespace ivl
