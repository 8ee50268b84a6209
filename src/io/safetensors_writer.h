// Writes a safetensors file: used by tests, and later by `internvl quantize` and `mkmodel`.
// The header is padded with spaces so the data area starts 8-byte aligned.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "core/tensor_view.h"
#include "ivl/status.h"

namespace ivl::io {

struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;
  std::vector<std::byte> data;  // numel * dtype_size bytes
};

// Writes `tensors` in the given order to `path` (via a temporary file renamed into place, so a
// failed write never leaves a half-written file under the final name).
Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace ivl::io
