// ScratchVector / release_scratch: buffers grown on every thread of a pool are freed on every
// thread, a released vector can be grown again, and a thread's vectors leave its registry when
// the thread ends.
#include "core/thread_scratch.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace ivl {
namespace {

// A kernel-style per-thread buffer: grown to at least n floats, returned.
float* grown_buffer(size_t n) {
  thread_local ScratchVector<float> buffer;
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

// Scratch bytes held by each thread of the pool (one loop index per thread).
std::vector<size_t> bytes_per_thread(ThreadPool& pool) {
  std::vector<size_t> bytes(static_cast<size_t>(pool.size()));
  pool.parallel_for(pool.size(), [&](int64_t b, int64_t) {
    bytes[static_cast<size_t>(b)] = thread_scratch_bytes();
  });
  return bytes;
}

TEST(ThreadScratch, ReleaseFreesTheBuffersOfEveryThreadOfThePool) {
  ThreadPool pool(3);
  constexpr size_t kFloats = 1 << 20;
  pool.parallel_for(pool.size(), [](int64_t, int64_t) { grown_buffer(kFloats)[0] = 1.f; });
  for (size_t b : bytes_per_thread(pool)) EXPECT_GE(b, kFloats * sizeof(float));

  release_scratch(&pool);
  for (size_t b : bytes_per_thread(pool)) EXPECT_EQ(b, 0u);

  // Usable again after a release.
  pool.parallel_for(pool.size(), [](int64_t, int64_t) { grown_buffer(16)[15] = 2.f; });
  for (size_t b : bytes_per_thread(pool)) EXPECT_GE(b, 16 * sizeof(float));
  release_scratch(&pool);
}

TEST(ThreadScratch, WithoutAPoolOnlyTheCallersBuffersAreFreed) {
  grown_buffer(1000);
  size_t other_thread_bytes = 0;
  std::mutex m;
  std::thread other([&] {
    grown_buffer(1000);
    release_scratch(nullptr);
    std::lock_guard<std::mutex> lock(m);
    other_thread_bytes = thread_scratch_bytes();
  });
  other.join();  // its vector is destroyed with the thread and leaves its registry
  EXPECT_EQ(other_thread_bytes, 0u);
  EXPECT_GE(thread_scratch_bytes(), 1000 * sizeof(float));
  release_scratch(nullptr);
  EXPECT_EQ(thread_scratch_bytes(), 0u);
}

}  // namespace
}  // namespace ivl
