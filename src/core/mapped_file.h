// MappedFile: a read-only memory mapping of a whole file (RAII).
//
// Thread safety: immutable after open(); the bytes may be read from any thread.
// Empty files map to an empty span (mmap of length 0 is not allowed, so no mapping is made).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "ivl/status.h"

namespace ivl {

class MappedFile {
 public:
  // Maps `path` read-only. Errors: kNotFound (no such file), kIoError (not a regular file,
  // permission, mmap failure). The message names the path.
  static Result<std::unique_ptr<MappedFile>> open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  MappedFile(std::string path, const std::byte* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

// Drops the pages of a read-only file mapping from the process's resident set (madvise
// MADV_DONTNEED). The bytes stay valid: a later read faults them back in from the page cache.
void release_resident_pages(std::span<const std::byte> mapping);

}  // namespace ivl
