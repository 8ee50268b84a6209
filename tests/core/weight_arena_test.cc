#include "core/weight_arena.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ivl
