// ThreadPool: a persistent pool that runs one parallel loop at a time.
//
// parallel_for(n, fn) splits [0, n) into contiguous chunks (one per thread, so each thread
// streams one contiguous range of a weight matrix), runs fn(begin, end) on the workers and the
// calling thread, and returns when all chunks are done.
// Decode issues a few hundred loops per token, each a fraction of a millisecond, so the hand-off
// must cost microseconds: workers spin on an atomic for a short while (kSpinMicros), then yield
// their core between checks (kYieldMicros), and only then sleep on a condition variable; the
// caller waits for them the same way; no call allocates (fn is passed by reference, type-erased
// without std::function).
//
// Thread safety: one parallel_for at a time per pool (calls from several threads are serialised
// by a mutex); fn must be safe to run concurrently on disjoint ranges.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
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

  // Runs fn(begin, end) over [0, n) in at most size() chunks of at least `grain` items.
  template <class Fn>
  void parallel_for(int64_t n, Fn&& fn, int64_t grain = 1) {
    using F = std::remove_reference_t<Fn>;
    run({const_cast<void*>(static_cast<const void*>(&fn)),
         [](void* f, int64_t b, int64_t e) { (*static_cast<F*>(f))(b, e); }},
        n, grain);
  }

  // How long an idle thread spins, and then how long (from the same start) it keeps yielding
  // its core between checks, before it sleeps. Sleeping costs the next loop a futex wake-up of
  // ~85 µs on this project's VM host. Measured in q4_0 decode (InternVL3-1B shapes, TSC cycles
  // at 2.1 GHz): with 100 µs of spin alone, the worker still slept 1–2 times per decode step and
  // started the first loop of a layer 10–15k cycles after the caller released it on average
  // (~1k for the other loops); yielding until 2 ms brought that to 2.7–3.4k.
  static constexpr int kSpinMicros = 100;
  static constexpr int kYieldMicros = 2000;

 private:
  struct RangeFn {
    void* object;
    void (*call)(void*, int64_t, int64_t);
    void operator()(int64_t b, int64_t e) const { call(object, b, e); }
  };

  void run(RangeFn fn, int64_t n, int64_t grain);
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one loop at a time
  std::mutex mutex_;       // guards sleeping; generation_ changes under it
  std::condition_variable start_cv_, done_cv_;
  RangeFn fn_{};
  int64_t n_ = 0, chunk_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
};

}  // namespace ivl
