// ThreadPool: a persistent pool that runs one parallel loop at a time.
//
// parallel_for(n, fn) splits [0, n) into contiguous chunks, runs fn(begin, end) on the workers
// and the calling thread, and returns when all chunks are done. Workers sleep between loops, so
// a pool costs nothing while idle and nothing is allocated per call.
// Thread safety: one parallel_for at a time per pool (calls from several threads are
// serialised by a mutex); fn must be safe to run concurrently on disjoint ranges.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ivl {

class ThreadPool {
 public:
  // threads <= 0: one per hardware thread. The caller counts as one of them.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn over [0, n) in at most size() chunks of at least `grain` items.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one loop at a time
  std::mutex mutex_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunk_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace ivl
