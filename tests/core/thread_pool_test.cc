// ThreadPool: every item of a loop runs exactly once, in the chunks the contract promises, on
// pools of several sizes.
#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ivl {
namespace {

// The ranges fn was called with, and how often each item was visited.
struct Calls {
  std::mutex mutex;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::vector<std::atomic<int>> visits;
  explicit Calls(int64_t n) : visits(static_cast<size_t>(n)) {}
  void record(int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) visits[static_cast<size_t>(i)].fetch_add(1);
    std::lock_guard<std::mutex> lock(mutex);
    ranges.emplace_back(b, e);
  }
  void expect_each_item_once() const {
    for (size_t i = 0; i < visits.size(); ++i) ASSERT_EQ(visits[i].load(), 1) << "item " << i;
  }
};

TEST(ThreadPool, StaticLoopsCoverEveryItemOnceInAtMostOneChunkPerThread) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 5, 97, 1000}) {
      for (int64_t grain : {1, 4, 64}) {
        SCOPED_TRACE("threads " + std::to_string(threads) + " n " + std::to_string(n) + " grain " +
                     std::to_string(grain));
        Calls calls(n);
        pool.parallel_for(
            n, [&](int64_t b, int64_t e) { calls.record(b, e); }, grain);
        calls.expect_each_item_once();
        EXPECT_LE(calls.ranges.size(), static_cast<size_t>(threads));
        // Chunks of at least `grain` items, unless the whole loop is one chunk.
        if (calls.ranges.size() > 1) {
          for (auto [b, e] : calls.ranges) EXPECT_GE(e - b, std::min(grain, n)) << b;
        }
      }
    }
  }
}

}  // namespace
}  // namespace ivl
