// A bounded cache from a pre-tokenized word (raw bytes) to its BPE token ids.
//
// Each thread has its own tables (thread_local), so lookups take no lock and write no shared
// memory: with one shared, mutex-guarded cache two encoding threads ran barely faster than
// one, the lock cache lines bouncing between cores on every word. A thread keeps tables for
// up to kTablesPerThread caches (tokenizers) at once, recycling the least recently used; a
// table that fills up is cleared, which bounds memory (about 50 bytes per word) and lets it
// follow a changing workload. Keys and ids live in per-table arenas, not one allocation per
// entry.
//
// Thread safety: every method may be called from any thread at any time. Destroying a
// WordCache leaves other threads' tables for it to be recycled, never read again (each cache
// has a process-unique id).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ivl::tok {

class WordCache {
 public:
  // `capacity`: words kept per thread.
  explicit WordCache(size_t capacity);
  WordCache(const WordCache&) = delete;
  WordCache& operator=(const WordCache&) = delete;

  // On a hit appends the cached ids to `out` and returns true.
  bool find(std::string_view word, std::vector<int32_t>* out) const;
  // Words longer than 65535 bytes or with more than 65535 ids are not cached.
  void insert(std::string_view word, const int32_t* ids, size_t count) const;

  static constexpr size_t kTablesPerThread = 4;

 private:
  struct Table;
  Table& table() const;  // this thread's table for this cache

  uint64_t id_;
  size_t capacity_;
};

}  // namespace ivl::tok
