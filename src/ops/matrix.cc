#include "ops/matrix.h"

#include "core/check.h"

namespace ivl::ops {

void Matrix::append(const std::byte* data, int64_t rows) {
  const size_t row_bytes = static_cast<size_t>(in) * dtype_size(dtype);
  if (!segments.empty()) {
    MatrixSegment& last = segments.back();
    if (last.data + static_cast<size_t>(last.rows) * row_bytes == data) {
      last.rows += rows;
      out += rows;
      return;
    }
  }
  segments.push_back({data, rows});
  out += rows;
}

const std::byte* Matrix::row(int64_t r) const {
  const size_t row_bytes = static_cast<size_t>(in) * dtype_size(dtype);
  for (const MatrixSegment& s : segments) {
    if (r < s.rows) return s.data + static_cast<size_t>(r) * row_bytes;
    r -= s.rows;
  }
  IVL_CHECK_MSG(false, "matrix row out of range");
  return nullptr;
}

}  // namespace ivl::ops
