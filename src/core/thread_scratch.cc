#include "core/thread_scratch.h"

#include <vector>

#include "core/thread_pool.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ivl {
namespace detail {
namespace {

// Constructed before the first ScratchVector of its thread finishes constructing, so it is
// destroyed after the last one (thread_local objects are destroyed in reverse order).
std::vector<ScratchEntry>& registry() {
  thread_local std::vector<ScratchEntry> r;
  return r;
}

}  // namespace

void register_scratch(ScratchEntry e) {
  registry().push_back(e);
}

void unregister_scratch(void* object) {
  std::vector<ScratchEntry>& r = registry();
  std::erase_if(r, [object](const ScratchEntry& e) { return e.object == object; });
}

}  // namespace detail

void release_thread_scratch() {
  for (const detail::ScratchEntry& e : detail::registry()) e.release(e.object);
}

size_t thread_scratch_bytes() {
  size_t total = 0;
  for (const detail::ScratchEntry& e : detail::registry()) total += e.bytes(e.object);
  return total;
}

void release_scratch(ThreadPool* pool) {
  if (pool != nullptr) {
    // One index per thread: parallel_for gives each of the size() threads one chunk.
    pool->parallel_for(pool->size(), [](int64_t, int64_t) { release_thread_scratch(); });
  } else {
    release_thread_scratch();
  }
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace ivl
