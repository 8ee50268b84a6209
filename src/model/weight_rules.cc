#include "model/weight_rules.h"

#include <set>

#include "ops/packed_formats.h"

namespace ivl::model {
namespace {

constexpr size_t kMaxListed = 25;  // per category, so a wrong-model error stays readable

void append_list(std::string* msg, const std::string& title,
                 const std::vector<std::string>& items) {
  if (items.empty()) return;
  *msg += "\n  " + title + " (" + std::to_string(items.size()) + "):";
  for (size_t i = 0; i < items.size() && i < kMaxListed; ++i) *msg += "\n    " + items[i];
  if (items.size() > kMaxListed)
    *msg += "\n    ... and " + std::to_string(items.size() - kMaxListed) + " more";
}

bool is_compute_dtype(DType t) {
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16;
}

std::string candidates_text(const std::vector<std::string>& sources) {
  std::string s = sources.empty() ? "" : sources[0];
  for (size_t i = 1; i < sources.size(); ++i) s += " | " + sources[i];
  return s;
}

bool ends_with_any(std::string_view s, std::initializer_list<std::string_view> tails) {
  for (std::string_view t : tails) {
    if (s.ends_with(t)) return true;
  }
  return false;
}

std::string layout_text(ops::MatrixLayout layout) {
  switch (layout) {
    case ops::MatrixLayout::kQ8_0:
      return "q8_0";
    case ops::MatrixLayout::kQ4_0:
      return "q4_0";
    default:
      return "not quantized";
  }
}

// Why a U8 tensor found for `rule` cannot be its quantized rows; empty when it can (then
// *layout is set).
std::string check_quantized(const WeightRule& rule, const TensorView& found,
                            const std::optional<QuantizedParts>& quantized,
                            ops::MatrixLayout* layout) {
  if (!quantized) {
    return "is U8 (quantized rows), but config.json has no \"internvl_cpp_quantization\" block; "
           "re-create the checkpoint with `internvl quantize` from the original";
  }
  const MatrixPart part = matrix_part(rule.canonical);
  if (part == MatrixPart::kNone || rule.shape.size() != 2) {
    return "is U8, but only the matrices of linear layers can be quantized (it is used as " +
           rule.canonical + ")";
  }
  const ops::MatrixLayout asked = quantized->of(part);
  const char* part_name = part == MatrixPart::kLlm ? "llm" : "vision";
  if (asked == ops::MatrixLayout::kRows) {
    return std::string("is U8, but the quantization block says the ") + part_name +
           " part is stored unquantized";
  }
  const int64_t in = rule.shape[1];
  *layout = ops::quantized_layout_for(asked, in);
  if (*layout == ops::MatrixLayout::kRows) {
    return "is U8, but its " + std::to_string(in) + " columns do not fit " + layout_text(asked) +
           " (such matrices stay unquantized)";
  }
  const Shape& logical = rule.rows.empty() ? rule.shape : rule.source_shape;
  const Shape expected = {logical[0], static_cast<int64_t>(ops::quant_row_bytes(*layout, in))};
  if (found.shape != expected) {
    return "expected U8 " + shape_to_string(expected) + " (" + layout_text(*layout) + " rows of " +
           std::to_string(in) + " columns, " + std::string(part_name) + " part " +
           layout_text(asked) + "), found " + shape_to_string(found.shape);
  }
  return "";
}

}  // namespace

MatrixPart matrix_part(std::string_view name) {
  if (name == "llm.head.weight") return MatrixPart::kLlm;
  if (name.starts_with("proj.")) {
    return name == "proj.fc1.weight" || name == "proj.fc2.weight" ? MatrixPart::kVision
                                                                  : MatrixPart::kNone;
  }
  if (name.starts_with("vit.L")) {
    return ends_with_any(name, {".attn.q.weight", ".attn.k.weight", ".attn.v.weight",
                                ".attn.proj.weight", ".mlp.fc1.weight", ".mlp.fc2.weight"})
               ? MatrixPart::kVision
               : MatrixPart::kNone;
  }
  if (name.starts_with("llm.L")) {
    return ends_with_any(name,
                         {".attn.q.weight", ".attn.k.weight", ".attn.v.weight", ".attn.o.weight",
                          ".mlp.gate.weight", ".mlp.up.weight", ".mlp.down.weight"})
               ? MatrixPart::kLlm
               : MatrixPart::kNone;
  }
  return MatrixPart::kNone;
}

ops::MatrixLayout QuantizedParts::of(MatrixPart part) const {
  switch (part) {
    case MatrixPart::kLlm:
      return llm;
    case MatrixPart::kVision:
      return vision;
    case MatrixPart::kNone:
      break;
  }
  return ops::MatrixLayout::kRows;
}

WeightRule plain_rule(std::string canonical, std::vector<std::string> sources, Shape shape,
                      bool required) {
  WeightRule r;
  r.canonical = std::move(canonical);
  r.sources = std::move(sources);
  r.shape = std::move(shape);
  r.required = required;
  return r;
}

WeightRule rows_rule(std::string canonical, std::vector<std::string> sources, Shape source_shape,
                     std::vector<RowRange> rows, bool required) {
  WeightRule r;
  r.canonical = std::move(canonical);
  r.sources = std::move(sources);
  int64_t taken = 0;
  for (const RowRange& rr : rows) taken += rr.end - rr.begin;
  r.shape = source_shape;
  r.shape[0] = taken;
  r.source_shape = std::move(source_shape);
  r.rows = std::move(rows);
  r.required = required;
  return r;
}

Result<ResolvedWeights> resolve_weights(const std::vector<WeightRule>& rules,
                                        const io::Checkpoint& checkpoint,
                                        const std::optional<QuantizedParts>& quantized) {
  ResolvedWeights out;
  std::vector<std::string> missing, misshaped, bad_dtype, bad_quantized;
  std::set<std::string> used, reported;
  for (const WeightRule& rule : rules) {
    const TensorView* found = nullptr;
    std::string found_name;
    for (const std::string& candidate : rule.sources) {
      if ((found = checkpoint.find(candidate)) != nullptr) {
        found_name = candidate;
        break;
      }
    }
    if (found == nullptr) {
      if (rule.required) missing.push_back(candidates_text(rule.sources));
      continue;
    }
    used.insert(found_name);
    ops::MatrixLayout layout = ops::MatrixLayout::kRows;
    if (found->dtype == DType::kU8) {
      std::string why = check_quantized(rule, *found, quantized, &layout);
      if (!why.empty()) {
        // A fused tensor serves several rules: report it once.
        if (reported.insert(found_name).second) {
          bad_quantized.push_back(found_name + " in " +
                                  std::string(checkpoint.file_of(found_name)) + ": " + why);
        }
        continue;
      }
    }
    const Shape& expected = rule.rows.empty() ? rule.shape : rule.source_shape;
    if (layout == ops::MatrixLayout::kRows && found->shape != expected) {
      misshaped.push_back(found_name + " in " + std::string(checkpoint.file_of(found_name)) +
                          ": expected " + shape_to_string(expected) + ", found " +
                          shape_to_string(found->shape));
      continue;
    }
    if (layout == ops::MatrixLayout::kRows && !is_compute_dtype(found->dtype)) {
      bad_dtype.push_back(found_name + " is " + std::string(dtype_name(found->dtype)));
      continue;
    }
    WeightRef ref;
    ref.name = rule.canonical;
    ref.source_name = found_name;
    ref.source = *found;
    ref.shape = rule.shape;
    ref.rows = rule.rows;
    ref.layout = layout;
    out.table.add(std::move(ref));
  }
  if (!missing.empty() || !misshaped.empty()) {
    std::string msg = "checkpoint does not match its config.json";
    append_list(&msg, "missing tensors", missing);
    append_list(&msg, "tensors with the wrong shape", misshaped);
    return Status::invalid_argument(msg);
  }
  if (!bad_quantized.empty()) {
    std::string msg = "quantized tensors that do not match config.json";
    append_list(&msg, "tensors", bad_quantized);
    return Status::corrupt(msg);
  }
  if (!bad_dtype.empty()) {
    std::string msg = "tensors must be F32, F16 or BF16 for this engine";
    append_list(&msg, "other dtypes", bad_dtype);
    return Status::unsupported(msg);
  }
  for (const std::string& name : checkpoint.names()) {
    if (!used.count(name)) out.unused.push_back(name);
  }
  return out;
}

}  // namespace ivl::model
