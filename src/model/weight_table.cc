#include "model/weight_table.h"

#include "core/check.h"

namespace ivl::model {

size_t WeightRef::source_row_bytes() const {
  return source.shape.empty() ? dtype_size(source.dtype)
                              : source.nbytes() / static_cast<size_t>(source.shape[0]);
}

TensorView WeightRef::view() const {
  IVL_CHECK_MSG(contiguous() && !quantized(), name.c_str());
  if (rows.empty()) return TensorView{source.dtype, shape, source.data};
  int64_t row_elems = source.shape.empty() ? 1 : source.numel() / source.shape[0];
  size_t offset = static_cast<size_t>(rows[0].begin * row_elems) * dtype_size(source.dtype);
  return TensorView{source.dtype, shape, source.data + offset};
}

std::vector<std::byte> WeightRef::gather_bytes() const {
  if (rows.empty()) {
    auto b = source.bytes();
    return {b.begin(), b.end()};
  }
  const size_t row_bytes = source_row_bytes();
  std::vector<std::byte> out;
  for (const RowRange& r : rows) {
    const std::byte* begin = source.data + static_cast<size_t>(r.begin) * row_bytes;
    out.insert(out.end(), begin, begin + static_cast<size_t>(r.end - r.begin) * row_bytes);
  }
  return out;
}

void WeightTable::add(WeightRef ref) {
  std::string key = ref.name;
  weights_.insert_or_assign(std::move(key), std::move(ref));
}

const WeightRef* WeightTable::find(const std::string& name) const {
  auto it = weights_.find(name);
  return it == weights_.end() ? nullptr : &it->second;
}

int64_t WeightTable::count_params(const std::string& prefix) const {
  int64_t n = 0;
  for (const auto& [name, ref] : weights_) {
    if (name.compare(0, prefix.size(), prefix) == 0) n += ref.numel();
  }
  return n;
}

}  // namespace ivl::model
