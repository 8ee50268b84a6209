// Checkpoint: every tensor of a model directory, whether stored in one .safetensors file or
// sharded across several with a model.safetensors.index.json.
//
// Which files are read (first match wins):
//  1. model.safetensors.index.json: {"metadata": {...}, "weight_map": {tensor: shard_file}}.
//     Shard names must be plain file names inside the directory (no '/', '\', "." or "..");
//     symlinks are followed (the Hugging Face cache stores shards as symlinks). Each shard is
//     opened once. The index and the shards must agree exactly: a tensor mapped to a shard
//     that lacks it, a tensor in a shard that the index does not map there, or one tensor in
//     two shards is kCorruptData (a mismatched or stale index). Missing shards are kNotFound,
//     listing all of them. Shards present in the directory but not named by the index are
//     ignored. The index's own "metadata" (e.g. total_size) is not checked: writers disagree
//     on what it counts.
//  2. model.safetensors.
//  3. The only *.safetensors file in the directory. Several without an index: kNotFound.
//  Nothing found: kNotFound naming what was looked for.
// Every error message names the directory or file and, where relevant, the tensor.
//
// Ownership and lifetime: the Checkpoint owns the file mappings; the TensorViews (and the
// pointers find() returns) are valid exactly as long as the Checkpoint lives. Tensor data is
// not copied and may be misaligned for its dtype (see io/safetensors.h).
// Thread safety: immutable after open(); all accessors may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor_view.h"
#include "io/safetensors.h"
#include "ivl/status.h"

namespace ivl::io {

class Checkpoint {
 public:
  static Result<std::unique_ptr<Checkpoint>> open(const std::filesystem::path& model_dir,
                                                  const SafetensorsLimits& limits = {});

  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;

  const std::filesystem::path& dir() const { return dir_; }

  // True when the tensors came from an index and its shards.
  bool sharded() const { return sharded_; }

  // The view of tensor `name`, or nullptr when no file has it.
  const TensorView* find(std::string_view name) const;

  // The file name (relative to dir()) holding tensor `name`, for error messages; empty when
  // there is no such tensor.
  std::string_view file_of(std::string_view name) const;

  // All tensor names, sorted (byte-wise).
  const std::vector<std::string>& names() const { return names_; }
  size_t tensor_count() const { return names_.size(); }

  // Sum of all tensors' byte sizes.
  uint64_t total_bytes() const { return total_bytes_; }

  // The safetensors file names (relative to dir()) that were opened, sorted.
  const std::vector<std::string>& files() const { return file_names_; }

  // The opened file called `file_name` (one of files()), or nullptr.
  const SafetensorsFile* file(std::string_view file_name) const;

  // The union of the files' "__metadata__" maps. Where shards disagree on a key, the value
  // of the first file in files() order wins; file(name)->metadata() has each file's own.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  Checkpoint() = default;

  struct Entry {
    const TensorView* view;
    size_t file_index;  // into files_ / file_names_
  };

  std::filesystem::path dir_;
  bool sharded_ = false;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<std::string> file_names_;
  std::map<std::string, Entry, std::less<>> tensors_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> metadata_;
  uint64_t total_bytes_ = 0;
};

}  // namespace ivl::io
