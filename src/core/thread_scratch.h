// Per-thread scratch buffers that can be given back between requests.
//
// Kernels keep their working buffers in thread_local vectors that only grow, so that a decode
// step allocates nothing. Between requests that memory is dead weight: without a way to free it,
// one 448 tile's InternViT buffers, the largest prefill's buffers and the KV cache all stay
// resident side by side for the life of the process, and the peak resident set becomes their
// sum instead of the largest of them.
//
// A ScratchVector is a std::vector that registers itself with its thread when constructed.
// release_thread_scratch() frees every scratch vector of the calling thread; release_scratch()
// does it on every thread of a pool and hands the freed pages back to the operating system.
//
// Contract: declare a ScratchVector thread_local (or otherwise use it from one thread only), and
// grow it before each use (`if (v.size() < n) v.resize(n)`): after a release it is empty.
#pragma once

#include <cstddef>
#include <vector>

namespace ivl {

class ThreadPool;

namespace detail {
// One registered buffer: the object, how to free its memory and how much it holds.
struct ScratchEntry {
  void* object;
  void (*release)(void* object);
  size_t (*bytes)(const void* object);
};
void register_scratch(ScratchEntry e);
void unregister_scratch(void* object);
}  // namespace detail

template <class T>
class ScratchVector : public std::vector<T> {
 public:
  ScratchVector() {
    detail::register_scratch(
        {.object = this,
         .release = [](void* v) { std::vector<T>().swap(*static_cast<ScratchVector*>(v)); },
         .bytes =
             [](const void* v) {
               return static_cast<const ScratchVector*>(v)->capacity() * sizeof(T);
             }});
  }
  ~ScratchVector() { detail::unregister_scratch(this); }
  ScratchVector(const ScratchVector&) = delete;
  ScratchVector& operator=(const ScratchVector&) = delete;
};

// Frees the calling thread's scratch vectors (their memory goes back to malloc).
void release_thread_scratch();

// Bytes the calling thread's scratch vectors hold (their capacity), for tests and diagnostics.
size_t thread_scratch_bytes();

// release_thread_scratch() on every thread of `pool` and on the caller (pool may be null: the
// caller only), then returns free heap memory to the operating system (glibc's malloc_trim; the
// large buffers' pages would otherwise stay in malloc's arenas, resident). Between parallel
// loops only: it runs as one loop of the pool, so it never frees a buffer another loop is using.
void release_scratch(ThreadPool* pool);

}  // namespace ivl
