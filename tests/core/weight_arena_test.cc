#include "core/weight_arena.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "support/smaps.h"

namespace ivl {
namespace {

TEST(WeightArena, AllocationsAreZeroedAlignedAndDisjoint) {
  for (const WeightArena::Pages pages : {WeightArena::Pages::kHuge, WeightArena::Pages::kSmall}) {
    WeightArena arena(pages);
    // Small pieces share chunks; 20 MiB is over the shared-chunk limit and gets its own mapping.
    const std::vector<size_t> sizes = {1, 63, 64, 4097, size_t{3} << 20, size_t{20} << 20, 0, 100};
    std::vector<std::pair<std::byte*, size_t>> got;
    size_t asked = 0;
    for (const size_t n : sizes) {
      std::byte* p = arena.allocate(n);
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << n;
      EXPECT_TRUE(std::all_of(p, p + n, [](std::byte b) { return b == std::byte{0}; })) << n;
      std::fill(p, p + n, std::byte{0x5a});
      got.emplace_back(p, n);
      asked += n;
    }
    EXPECT_GE(arena.bytes_used(), asked);
    for (size_t i = 0; i < got.size(); ++i) {
      for (size_t j = i + 1; j < got.size(); ++j) {
        const bool disjoint = got[i].first + got[i].second <= got[j].first ||
                              got[j].first + got[j].second <= got[i].first;
        EXPECT_TRUE(disjoint) << i << " " << j;
      }
    }
  }
}

TEST(WeightArena, HugePagesOnlyWhereAsked) {
  WeightArena huge(WeightArena::Pages::kHuge), small(WeightArena::Pages::kSmall);
  EXPECT_EQ(huge.pages(), WeightArena::Pages::kHuge);
  EXPECT_EQ(small.pages(), WeightArena::Pages::kSmall);
  for (const size_t n : {size_t{4096}, size_t{20} << 20}) {  // a shared chunk, a dedicated mapping
    const std::byte* h = huge.allocate(n);
    const std::byte* s = small.allocate(n);
    EXPECT_EQ(test::smaps_value(h, "THPeligible:"),
              test::transparent_huge_pages_available() ? 1 : 0)
        << n;
    EXPECT_EQ(test::smaps_value(s, "THPeligible:"), 0) << n;
  }
}

// Resident pages of [p, p + bytes), as mincore reports them.
size_t resident_pages(const std::byte* p, size_t bytes) {
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const auto first = reinterpret_cast<uintptr_t>(p) / page * page;
  const size_t pages = (reinterpret_cast<uintptr_t>(p) + bytes - first + page - 1) / page;
  std::vector<unsigned char> in_core(pages);
  EXPECT_EQ(mincore(reinterpret_cast<void*>(first), pages * page, in_core.data()), 0);
  return static_cast<size_t>(
      std::count_if(in_core.begin(), in_core.end(), [](unsigned char c) { return (c & 1) != 0; }));
}

// prefault maps the pages in without writing: data already there stays, the rest reads zero.
TEST(WeightArena, PrefaultMapsPagesInAndKeepsTheirData) {
  WeightArena arena(WeightArena::Pages::kSmall);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE)), n = 64 * page;
  std::byte* p = arena.allocate(n);
  std::fill(p + 3 * page + 7, p + 5 * page, std::byte{0x5a});  // two pages written
  EXPECT_EQ(resident_pages(p, n), 2u);
  WeightArena::prefault(p + page + 100, 40 * page);  // an unaligned start, over the written part
  EXPECT_EQ(resident_pages(p + page, 41 * page), 41u);
  EXPECT_LT(resident_pages(p, n), 64u);  // outside the range: as it was
  for (size_t i = 0; i < n; ++i) {
    const bool written = i >= 3 * page + 7 && i < 5 * page;
    ASSERT_EQ(p[i], written ? std::byte{0x5a} : std::byte{0}) << i;
  }
  WeightArena::prefault(p, 0);  // nothing to do
}

}  // namespace
}  // namespace ivl
