// Converted weights live in two arenas: the LLM's in transparent huge pages (decode streams them
// from memory every token), the vision tower's and projector's in 4 KiB pages (their products
// are compute-bound, and a fresh huge page is slow to fault in on this project's VM host).
#include <gtest/gtest.h>

#include <cstddef>

#include "model/model_description.h"
#include "model/runtime_weights.h"
#include "support/fixtures.h"
#include "support/smaps.h"

namespace ivl::model {
namespace {

const std::byte* first_byte(const ops::Matrix& m) {
  return m.packed != nullptr ? m.packed : m.segments.at(0).data;
}

TEST(WeightPages, LlmInHugePagesVisionInSmallPages) {
  auto desc = open_model_description(test::fixture("models/tiny-internvl3-qwen2"));
  ASSERT_TRUE(desc.ok()) << desc.status().to_string();
  for (const WeightFormat vision : {WeightFormat::kQ8_0, WeightFormat::kBF16}) {
    auto weights = build_runtime_weights(*desc, {.llm = WeightFormat::kBF16, .vision = vision});
    ASSERT_TRUE(weights.ok()) << weights.status().to_string();
    const RuntimeWeights& w = **weights;
    ASSERT_GT(w.arena.bytes_used(), 0u);
    ASSERT_GT(w.vision_arena.bytes_used(), 0u);
    const int64_t huge = test::transparent_huge_pages_available() ? 1 : 0;
    for (const LlmLayerWeights& l : w.llm.layers) {
      EXPECT_EQ(test::smaps_value(first_byte(l.gate_up.w), "THPeligible:"), huge);
      EXPECT_EQ(test::smaps_value(first_byte(l.qkv.w), "THPeligible:"), huge);
    }
    for (const VitLayerWeights& l : w.vision.layers) {
      EXPECT_EQ(test::smaps_value(first_byte(l.fc1.w), "THPeligible:"), 0);
      EXPECT_EQ(test::smaps_value(first_byte(l.qkv.w), "THPeligible:"), 0);
    }
    EXPECT_EQ(test::smaps_value(first_byte(w.projector.fc1.w), "THPeligible:"), 0);
  }
}

}  // namespace
}  // namespace ivl::model
