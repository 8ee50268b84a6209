// WeightArena: memory for converted weights (packed, quantized or float32 copies).
//
// Why not std::vector: decode reads every weight byte once per token, so it is bound by memory
// bandwidth, and the dependency note measured 10–50 % more read bandwidth from 2 MiB pages.
// The arena takes anonymous memory in large chunks aligned to 2 MiB and hands out 64-byte-aligned
// pieces. With Pages::kHuge it asks for transparent huge pages (madvise MADV_HUGEPAGE; the
// kernel's THP mode here is "madvise"); with Pages::kSmall it asks for 4 KiB pages
// (MADV_NOHUGEPAGE, also under THP mode "always"), for weights that are not streamed from memory
// (see RuntimeWeights::vision_arena for why that matters at load). Nothing is freed until the
// arena is destroyed.
// Thread safety: allocate() from one thread at a time (weights are built before sharing).
#pragma once

#include <cstddef>
#include <vector>

namespace ivl {

class WeightArena {
 public:
  enum class Pages { kHuge, kSmall };

  explicit WeightArena(Pages pages = Pages::kHuge) : pages_(pages) {}
  ~WeightArena();
  WeightArena(const WeightArena&) = delete;
  WeightArena& operator=(const WeightArena&) = delete;

  // Zero-filled, 64-byte aligned, valid for the arena's lifetime. Aborts when the system has
  // no memory left (as operator new would).
  std::byte* allocate(size_t bytes);

  // Maps in the pages holding [begin, begin + bytes) of memory from allocate() now, in one system
  // call (MADV_POPULATE_WRITE), rather than one page fault per page on first write: on a VM host
  // a 4 KiB fault costs microseconds, so converting threads call this on the part of the output
  // each is about to write. Advisory: where the kernel lacks it, the pages fault in as usual.
  // Safe to call from several threads, on ranges that overlap or hold written data (populating a
  // present page leaves it as it is).
  static void prefault(std::byte* begin, size_t bytes);

  size_t bytes_used() const { return used_; }
  Pages pages() const { return pages_; }

 private:
  struct Chunk {
    std::byte* base = nullptr;
    size_t size = 0;
    size_t offset = 0;
  };
  std::vector<Chunk> chunks_;     // shared by small allocations, filled first fit
  std::vector<Chunk> dedicated_;  // one per large allocation
  size_t used_ = 0;
  Pages pages_;
};

}  // namespace ivl
