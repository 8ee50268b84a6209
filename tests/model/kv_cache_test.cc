// KvCache's position-blocked keys: every (layer, column, position) the decoder writes and every
// whole block decode attention reads lies inside the cache, layers do not overlap, and no two
// elements share a slot — for a capacity that is not a whole number of blocks.
#include "model/llm/kv_cache.h"

#include <gtest/gtest.h>

#include <set>

namespace ivl::model {
namespace {

TEST(KvCache, BlockedKeysOfEveryLayerFitTheirOwnWholeBlocks) {
  constexpr int64_t kLayers = 3, kCapacity = 17, kKvDim = 8;
  KvCache cache(kLayers, kCapacity, kKvDim);
  const int64_t stride = cache.kt_block_stride();
  EXPECT_EQ(stride, kKvDim * ops::kKeyBlock);
  // bytes() counts K, V (capacity rows each) and the blocked keys.
  const int64_t kt_floats =
      static_cast<int64_t>(cache.bytes() / sizeof(float)) - 2 * kLayers * kCapacity * kKvDim;
  const int64_t whole_blocks = (kCapacity + ops::kKeyBlock - 1) / ops::kKeyBlock;  // 2
  ASSERT_EQ(kt_floats, kLayers * whole_blocks * stride);
  std::set<const float*> slots;
  for (int64_t l = 0; l < kLayers; ++l) {
    const float* base = cache.kt(l);
    // Decode attention reads the whole block holding the last position.
    for (int64_t pos = 0; pos < whole_blocks * ops::kKeyBlock; ++pos) {
      for (int64_t c = 0; c < kKvDim; ++c) {
        const int64_t i = ops::blocked_key_index(c, pos, stride);
        ASSERT_GE(i, 0);
        ASSERT_LT(i, whole_blocks * stride) << "layer " << l << " column " << c << " pos " << pos;
        EXPECT_TRUE(slots.insert(base + i).second) << "layer " << l << " column " << c;
      }
    }
  }
  EXPECT_EQ(cache.kt(1) - cache.kt(0), whole_blocks * stride);
}

}  // namespace
}  // namespace ivl::model
