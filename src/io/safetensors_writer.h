// Writes safetensors files: used by tests, `internvl mkmodel` and `internvl quantize`.
// The header is padded with spaces so the data area starts 8-byte aligned.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <ostream>
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

// A tensor whose bytes are produced while writing (write_safetensors_streamed).
struct TensorHeader {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;
};

// Writes the bytes of tensor `index` to `out`: exactly numel × dtype size of its header.
using TensorBytesWriter = std::function<Status(size_t index, std::ostream& out)>;

// Like write_safetensors, but each tensor's bytes come from `write`, called once per tensor in
// order, so a file larger than memory can be written tensor by tensor (or row block by row
// block). A callback error, or a byte count that differs from the header's, fails the write and
// removes the temporary file.
Status write_safetensors_streamed(const std::string& path, const std::vector<TensorHeader>& headers,
                                  const TensorBytesWriter& write,
                                  const std::map<std::string, std::string>& metadata = {});

}  // namespace ivl::io
