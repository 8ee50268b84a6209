#include "model/weight_rules.h"

#include <set>

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

}  // namespace

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
                                        const io::Checkpoint& checkpoint) {
  ResolvedWeights out;
  std::vector<std::string> missing, misshaped, bad_dtype;
  std::set<std::string> used;
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
    const Shape& expected = rule.rows.empty() ? rule.shape : rule.source_shape;
    if (found->shape != expected) {
      misshaped.push_back(found_name + " in " + std::string(checkpoint.file_of(found_name)) +
                          ": expected " + shape_to_string(expected) + ", found " +
                          shape_to_string(found->shape));
      continue;
    }
    if (!is_compute_dtype(found->dtype)) {
      bad_dtype.push_back(found_name + " is " + std::string(dtype_name(found->dtype)));
      continue;
    }
    WeightRef ref;
    ref.name = rule.canonical;
    ref.source_name = found_name;
    ref.source = *found;
    ref.shape = rule.shape;
    ref.rows = rule.rows;
    out.table.add(std::move(ref));
  }
  if (!missing.empty() || !misshaped.empty()) {
    std::string msg = "checkpoint does not match its config.json";
    append_list(&msg, "missing tensors", missing);
    append_list(&msg, "tensors with the wrong shape", misshaped);
    return Status::invalid_argument(msg);
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
