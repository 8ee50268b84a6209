#include "core/weight_arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include "core/check.h"

namespace ivl {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kChunk = size_t{64} << 20;  // small matrices share chunks of this size

size_t round_up(size_t n, size_t a) {
  return (n + a - 1) / a * a;
}

// Anonymous memory aligned to 2 MiB: over-map by one huge page and trim both ends.
std::byte* map_aligned(size_t size, WeightArena::Pages pages) {
  const size_t over = size + kHugePage;
  void* p = mmap(nullptr, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  IVL_CHECK_MSG(p != MAP_FAILED, "out of memory for weights");
  auto* raw = static_cast<std::byte*>(p);
  const auto addr = reinterpret_cast<uintptr_t>(raw);
  const size_t head = round_up(addr, kHugePage) - addr;
  if (head > 0) munmap(raw, head);
  const size_t tail = over - head - size;
  if (tail > 0) munmap(raw + head + size, tail);
  std::byte* base = raw + head;
  // Advisory: failure only costs speed.
  madvise(base, size, pages == WeightArena::Pages::kHuge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  return base;
}

}  // namespace

void WeightArena::prefault(std::byte* begin, size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  if (bytes == 0) return;
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t first = reinterpret_cast<uintptr_t>(begin) / page * page;
  const uintptr_t end = reinterpret_cast<uintptr_t>(begin) + bytes;
  madvise(reinterpret_cast<void*>(first), end - first, MADV_POPULATE_WRITE);
#else
  (void)begin;
  (void)bytes;
#endif
}

WeightArena::~WeightArena() {
  for (const Chunk& c : chunks_) munmap(c.base, c.size);
  for (const Chunk& c : dedicated_) munmap(c.base, c.size);
}

std::byte* WeightArena::allocate(size_t bytes) {
  bytes = round_up(bytes == 0 ? 1 : bytes, 64);
  used_ += bytes;
  if (bytes > kChunk / 4) {  // a large matrix gets its own mapping; the open chunk stays open
    const size_t size = round_up(bytes, kHugePage);
    std::byte* p = map_aligned(size, pages_);
    dedicated_.push_back({p, size, size});
    return p;
  }
  // First fit: a matrix that does not fit in the tail of a chunk opens a new one, and a later,
  // smaller one fills that tail. Every chunk's partly used last 2 MiB page is resident whole,
  // so tails left open cost up to 2 MiB each (4.4 MiB over 8 chunks for InternVL3-1B in q4_0).
  for (Chunk& c : chunks_) {
    if (c.offset + bytes <= c.size) {
      std::byte* p = c.base + c.offset;
      c.offset += bytes;
      return p;
    }
  }
  chunks_.push_back({map_aligned(kChunk, pages_), kChunk, bytes});
  return chunks_.back().base;
}

}  // namespace ivl
