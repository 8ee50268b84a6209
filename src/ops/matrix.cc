#include "ops/matrix.h"

#include "core/check.h"
#include "ops/packed_formats.h"

namespace ivl::ops {

bool is_quantized_rows(MatrixLayout layout) {
  return layout == MatrixLayout::kQ8_0 || layout == MatrixLayout::kQ4_0;
}

bool is_bf16_panels(MatrixLayout layout) {
  return layout == MatrixLayout::kBF16Panels || layout == MatrixLayout::kBF16Compact;
}

size_t Matrix::row_bytes() const {
  if (layout == MatrixLayout::kRows) return static_cast<size_t>(in) * dtype_size(dtype);
  IVL_CHECK_MSG(is_quantized_rows(layout), "row_bytes: a panel layout has no rows");
  return quant_row_bytes(layout, in);
}

size_t Matrix::bytes() const {
  if (layout == MatrixLayout::kBF16Panels) return packed_bytes(layout, out, in);
  if (layout == MatrixLayout::kBF16Compact) {
    return packed_bytes(layout, out, in) + compact_exception_bytes(*this);
  }
  return row_bytes() * static_cast<size_t>(out);
}

void Matrix::append(const std::byte* data, int64_t rows) {
  const size_t bytes = row_bytes();
  if (!segments.empty()) {
    MatrixSegment& last = segments.back();
    if (last.data + static_cast<size_t>(last.rows) * bytes == data) {
      last.rows += rows;
      out += rows;
      return;
    }
  }
  segments.push_back({data, rows});
  out += rows;
}

const std::byte* Matrix::row(int64_t r) const {
  const size_t bytes = row_bytes();
  for (const MatrixSegment& s : segments) {
    if (r < s.rows) return s.data + static_cast<size_t>(r) * bytes;
    r -= s.rows;
  }
  IVL_CHECK_MSG(false, "matrix row out of range");
  return nullptr;
}

}  // namespace ivl::ops
