// SafetensorsFile: a validated, zero-copy reader for one .safetensors file.
//
// Format: an 8-byte little-endian u64 header length N, then N bytes of a JSON object (possibly
// padded with trailing spaces), then the data area. The object maps tensor names to
// {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]} (offsets relative to the data
// area, which starts at byte 8 + N) plus an optional "__metadata__" string->string map.
//
// Contract:
//  - open() validates the whole header before any view is handed out: JSON syntax, field names
//    and types, duplicate keys, dtype strings, shape sanity (checked 64-bit arithmetic),
//    dtype x shape == end - begin, offsets inside the data area, no overlapping tensors.
//    Every failure is a Status (kCorruptData; kUnsupported for an unknown dtype string) whose
//    message names the file and, where relevant, the tensor. Nothing throws out of this API.
//  - Data-area bytes not covered by any tensor (gaps, trailing bytes) are accepted: the format
//    does not forbid them in practice; unused_data_bytes() reports how many there are.
//  - Tensor data is never copied: each TensorView points into the read-only memory mapping,
//    which this object owns. Views are valid exactly as long as the SafetensorsFile lives.
//  - Alignment: the format does not align tensor data. A view's `data` is a byte pointer that
//    may be misaligned for its dtype (e.g. a BF16 or F32 tensor at an odd address); consumers
//    must not reinterpret_cast it to a wider type — use memcpy or byte-wise loads, or copy.
//  - Thread safety: immutable after open(); all accessors may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor_view.h"
#include "ivl/status.h"

namespace ivl::io {

struct SafetensorsLimits {
  // Upper bound on the JSON header. Real headers are kilobytes to a few MiB; the cap stops a
  // corrupt length field from making us parse (and allocate for) gigabytes of garbage.
  uint64_t max_header_bytes = uint64_t{100} << 20;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Errors: those of MappedFile::open (kNotFound, kIoError), then
  // kCorruptData / kUnsupported as described above.
  static Result<std::unique_ptr<SafetensorsFile>> open(const std::string& path,
                                                       const SafetensorsLimits& limits = {});

  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return file_->path(); }

  // The view of tensor `name`, or nullptr when the file has no such tensor. The pointer (and
  // the bytes it views) stay valid while this object lives.
  const TensorView* find(std::string_view name) const;

  // All tensor names, sorted (byte-wise).
  const std::vector<std::string>& names() const { return names_; }
  size_t tensor_count() const { return names_.size(); }

  // The "__metadata__" map (empty when the header has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Sum of all tensors' byte sizes.
  uint64_t total_bytes() const { return total_bytes_; }

  // Bytes of the data area that belong to no tensor (0 for files written by the reference
  // implementation, which packs tensors back to back).
  uint64_t unused_data_bytes() const { return data_size_ - total_bytes_; }

  // The whole mapped file (header included), e.g. to check that views point into it.
  std::span<const std::byte> mapped_bytes() const { return file_->bytes(); }

 private:
  SafetensorsFile() = default;

  std::unique_ptr<MappedFile> file_;
  std::map<std::string, TensorView, std::less<>> tensors_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> metadata_;
  uint64_t total_bytes_ = 0;
  uint64_t data_size_ = 0;
};

}  // namespace ivl::io
