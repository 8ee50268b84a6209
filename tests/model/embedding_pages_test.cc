// Embedding lookups must not grow the resident set by the checkpoint pages they read: the table
// stays a view of the file mapping (152k rows for Qwen2.5), and without dropping the pages a
// long chat would keep hundreds of MiB of it resident (fault-around maps 64 KiB per lookup).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/llm/decoder.h"
#include "model/model_description.h"
#include "model/runtime_weights.h"
#include "support/fixtures.h"
#include "support/smaps.h"

namespace ivl::model {
namespace {

// Resident bytes (Rss) of the mapping of this process that contains address p; -1 when no
// mapping contains it.
int64_t resident_bytes_of_mapping(const void* p) {
  const int64_t kib = test::smaps_value(p, "Rss:");  // "Rss:   N kB"
  return kib < 0 ? -1 : kib * 1024;
}

TEST(EmbeddingPages, LookupsLeaveNoCheckpointPagesResident) {
  auto desc = open_model_description(test::fixture("models/tiny-internvl3-qwen2"));
  ASSERT_TRUE(desc.ok()) << desc.status().to_string();
  auto weights =
      build_runtime_weights(*desc, {.llm = WeightFormat::kBF16, .vision = WeightFormat::kBF16});
  ASSERT_TRUE(weights.ok()) << weights.status().to_string();
  const LlmWeights& llm = (*weights)->llm;
  // bf16 packs the matrices but looks the embedding up where the checkpoint stores it.
  ASSERT_TRUE(llm.embed_in_checkpoint);
  auto decoder = Decoder::create(desc->llm, llm);
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();

  // Ids spread over the whole vocabulary, so that every page of the table is read.
  const int64_t vocab = desc->llm.vocab_size, h = desc->llm.hidden_size;
  const int64_t row_bytes = static_cast<int64_t>(llm.embed.row_bytes());
  const int64_t step = std::max<int64_t>(1, 4096 / row_bytes);
  std::vector<int32_t> ids;
  for (int64_t id = 0; id < vocab; id += step) ids.push_back(static_cast<int32_t>(id));
  const int64_t table_bytes = vocab * row_bytes;
  ASSERT_GT(table_bytes, int64_t{8} << 20) << "the fixture's table is too small to tell";

  std::vector<float> out(ids.size() * static_cast<size_t>(h));
  decoder->embed(ids, out.data());
  const int64_t resident = resident_bytes_of_mapping(llm.embed.row(0));
  ASSERT_GE(resident, 0) << "no mapping holds the embedding table";
  // Without the release every page of the table would be resident; allow a few stray pages.
  EXPECT_LT(resident, int64_t{1} << 20) << "of a " << table_bytes << "-byte table";
  // The rows were still read: the last id's row is the table's, widened.
  EXPECT_NE(out.back(), 0.0f);
}

}  // namespace
}  // namespace ivl::model
