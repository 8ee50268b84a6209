// Matrix: a read-only weight matrix in nn.Linear layout [out, in], made of one or more
// contiguous row segments (views into the checkpoint mapping, or into a converted copy).
// Several segments let a fused or regrouped weight (InternLM2's grouped wqkv, q|k|v of InternViT)
// be used without copying: output rows follow the segments in order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace ivl::ops {

struct MatrixSegment {
  const std::byte* data = nullptr;  // rows × row_bytes() bytes, row-major
  int64_t rows = 0;
};

// How the bytes of a matrix are laid out (ops/packed_formats.h spells out each packed layout).
enum class MatrixLayout {
  kRows,         // row segments of `dtype` (F32, BF16 or F16), exact float32 kernels
  kBF16Panels,   // bf16, packed in panels of 32 output rows for the AVX-512 BF16 kernels
  kBF16Compact,  // the same bf16 values in panels of 32 rows, losslessly in 12 bits per weight
  kQ8_0,         // int8 + one fp16 scale per 32 weights, row by row (row segments)
  kQ4_0,         // 4-bit + one fp16 scale per 32 weights, row by row (row segments)
};

// True for the row-wise quantized layouts (kQ8_0, kQ4_0).
bool is_quantized_rows(MatrixLayout layout);
// True for the bf16 panel layouts (kBF16Panels, kBF16Compact).
bool is_bf16_panels(MatrixLayout layout);

struct Matrix {
  DType dtype = DType::kF32;  // kRows: F32, BF16 or F16; quantized rows: U8
  int64_t out = 0;
  int64_t in = 0;
  // kRows and the quantized row layouts: the rows, in order. A quantized matrix read from a
  // quantized checkpoint keeps one segment per source tensor (or row range of a fused one), in
  // place in the mapping; one quantized at load is a single segment in the weight arena.
  std::vector<MatrixSegment> segments;
  MatrixLayout layout = MatrixLayout::kRows;
  const std::byte* packed = nullptr;  // kBF16Panels, kBF16Compact: the panels (owned elsewhere)
  // kBF16Compact: the weights its exponent codes cannot express (ops::compact_exceptions reads
  // them; owned elsewhere).
  const std::byte* exceptions = nullptr;

  // Bytes of one row: in × dtype size (kRows), quant_row_bytes (quantized rows). Not for
  // the panel layouts.
  size_t row_bytes() const;
  // Bytes of the whole matrix in its layout (what one product streams through).
  size_t bytes() const;
  // Appends rows (layout, dtype and `in` must be set); merges with the previous segment when
  // they are adjacent in memory.
  void append(const std::byte* data, int64_t rows);
  // Pointer to row r (r < out); kRows and quantized rows only.
  const std::byte* row(int64_t r) const;
};

}  // namespace ivl::ops
