// TensorView: a non-owning, typed view of a contiguous, row-major tensor in memory.
//
// The bytes belong to someone else (usually a memory-mapped safetensors file kept alive by the
// io::Checkpoint that handed out the view). A view is valid only as long as that owner lives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace ivl {

using Shape = std::vector<int64_t>;

inline int64_t shape_numel(const Shape& s) {
  return std::accumulate(s.begin(), s.end(), int64_t{1},
                         [](int64_t a, int64_t b) { return a * b; });
}

// "[896, 151674]"
std::string shape_to_string(const Shape& s);

struct TensorView {
  DType dtype = DType::kF32;
  Shape shape;
  const std::byte* data = nullptr;  // first byte; not owned

  int64_t numel() const { return shape_numel(shape); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  std::span<const std::byte> bytes() const { return {data, nbytes()}; }
};

}  // namespace ivl
