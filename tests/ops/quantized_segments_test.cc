// Quantized matrices made of several row segments (a quantized checkpoint's q, k, v used in
// place) compute exactly what the same rows in one segment (quantized at load) compute, for the
// integer GEMV (one row) and the dequantized panels (more rows), including panels whose 32 rows
// span segment boundaries; and the same with and without threads.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "core/weight_arena.h"
#include "ops/linear.h"
#include "ops/packed_formats.h"
#include "ops/packed_test_support.h"

namespace ivl::ops {
namespace {

class QuantizedSegments : public ::testing::TestWithParam<std::tuple<MatrixLayout, int64_t>> {};

TEST_P(QuantizedSegments, SameResultAsOneSegment) {
  const auto [layout, m] = GetParam();
  const int64_t k = 128;
  // Boundaries inside panels and inside the GEMV's four-row passes; 179 rows, so that the
  // GEMV (64-row grain) splits them between threads too.
  const std::vector<int64_t> parts = {5, 40, 1, 30, 33, 70};
  int64_t out = 0;
  for (int64_t p : parts) out += p;
  const std::vector<float> w = random_values(static_cast<size_t>(out * k), 1, 0.05f);
  Matrix rows;
  rows.dtype = DType::kF32;
  rows.in = k;
  rows.append(reinterpret_cast<const std::byte*>(w.data()), out);
  WeightArena arena;
  const Matrix whole = pack_matrix(rows, layout, arena, nullptr).value();
  ASSERT_EQ(whole.segments.size(), 1u);
  ASSERT_EQ(whole.dtype, DType::kU8);

  // The same bytes, each part in its own buffer (as separate tensors in a mapping would be).
  const size_t row_bytes = quant_row_bytes(layout, k);
  std::vector<std::vector<std::byte>> buffers;
  Matrix split;
  split.layout = layout;
  split.dtype = DType::kU8;
  split.in = k;
  int64_t r0 = 0;
  for (int64_t p : parts) {
    const std::byte* src = whole.segments[0].data + static_cast<size_t>(r0) * row_bytes;
    buffers.emplace_back(src, src + static_cast<size_t>(p) * row_bytes);
    split.append(buffers.back().data(), p);
    r0 += p;
  }
  ASSERT_EQ(split.segments.size(), parts.size());
  ASSERT_EQ(split.out, out);
  for (int64_t r = 0; r < out; ++r) {
    ASSERT_EQ(std::memcmp(split.row(r), whole.row(r), row_bytes), 0) << r;
  }

  const std::vector<float> x = random_values(static_cast<size_t>(m * k), 2, 0.05f);
  const std::vector<float> bias = random_values(static_cast<size_t>(out), 3, 0.05f);
  ThreadPool pool(3);
  std::vector<float> unthreaded;
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
    std::vector<float> a(static_cast<size_t>(m * out)), b(a.size(), NAN);
    linear(x.data(), m, whole, bias.data(), a.data(), p);
    linear(x.data(), m, split, bias.data(), b.data(), p);
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0);
    // Nor does the split between threads change a row's result.
    if (p == nullptr) {
      unthreaded = a;
    } else {
      EXPECT_EQ(std::memcmp(a.data(), unthreaded.data(), a.size() * 4), 0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, QuantizedSegments,
                         ::testing::Combine(::testing::Values(MatrixLayout::kQ8_0,
                                                              MatrixLayout::kQ4_0),
                                            ::testing::Values(int64_t{1}, int64_t{7})));

TEST(QuantizedSegments, FallbackLayouts) {
  EXPECT_EQ(quantized_layout_for(MatrixLayout::kQ4_0, 128), MatrixLayout::kQ4_0);
  EXPECT_EQ(quantized_layout_for(MatrixLayout::kQ4_0, 96), MatrixLayout::kQ4_0);
  EXPECT_EQ(quantized_layout_for(MatrixLayout::kQ4_0, 588), MatrixLayout::kRows);
  EXPECT_EQ(quantized_layout_for(MatrixLayout::kQ8_0, 48), MatrixLayout::kRows);
  EXPECT_EQ(quantized_layout_for(MatrixLayout::kBF16Panels, 64), MatrixLayout::kRows);
}

}  // namespace
}  // namespace ivl::ops
