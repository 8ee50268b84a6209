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
  const std::byte* data = nullptr;  // rows × in elements of the matrix dtype, row-major
  int64_t rows = 0;
};

struct Matrix {
  DType dtype = DType::kF32;  // F32, BF16 or F16
  int64_t out = 0;
  int64_t in = 0;
  std::vector<MatrixSegment> segments;

  // Appends rows; merges with the previous segment when they are adjacent in memory.
  void append(const std::byte* data, int64_t rows);
  // Pointer to row r (r < out).
  const std::byte* row(int64_t r) const;
};

}  // namespace ivl::ops
