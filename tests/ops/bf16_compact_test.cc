// kBF16Compact (issue 5): bf16 weights in 12 bits, losslessly. Compressing a panel and rebuilding
// it (codes, then the exception list) gives back every bf16 bit pattern, zeros, subnormals,
// infinities and NaNs included; the window holds all but a few of a normal matrix's weights; and
// the products include the exceptions', checked on a matrix where they dominate.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/half.h"
#include "core/thread_pool.h"
#include "core/weight_arena.h"
#include "ops/linear.h"
#include "ops/packed_formats.h"
#include "ops/packed_kernels.h"
#include "ops/packed_test_support.h"

namespace ivl::ops {
namespace {

// Index of weight (row n < 32, column c) in a kBF16Panels panel.
int64_t panel_index(int64_t n, int64_t c) {
  return (c / 2) * 64 + n * 2 + c % 2;
}

TEST(BF16Compact, RebuildsEveryWeightBitForBit) {
  const uint16_t specials[] = {
      0x0000, 0x8000,  // ±0
      0x0001, 0x807f,  // subnormals
      0x0080, 0x8080,  // the smallest normals
      0x7f7f, 0xff7f,  // the largest finite values
      0x7f80, 0xff80,  // ±inf
      0x7fc0, 0x3f80,  // a NaN, 1.0
  };
  for (const int64_t k : {2, 6, 896}) {
    SCOPED_TRACE(testing::Message() << "k " << k);
    const std::vector<float> w = random_values(static_cast<size_t>(32 * k), 5, 0.02f);
    std::vector<uint16_t> panel(w.size());
    for (int64_t n = 0; n < 32; ++n) {
      for (int64_t c = 0; c < k; ++c) panel[panel_index(n, c)] = f32_to_bf16(w[n * k + c]);
    }
    for (size_t i = 0; i < std::size(specials); ++i) {  // spread over rows and columns
      panel[panel_index(static_cast<int64_t>(i * 5 % 32), static_cast<int64_t>(i) % k)] =
          specials[i];
    }
    std::vector<std::byte> compact(compact_panel_bytes(k));
    std::vector<BF16Exception> exceptions;
    compress_panel(panel.data(), k, compact.data(), &exceptions);
    std::vector<uint16_t> back(panel.size(), 0xdead);
    expand_compact_panel(compact.data(), k, back.data());
    for (const BF16Exception& e : exceptions) {
      ASSERT_LT(e.row, 32);
      ASSERT_LT(e.col, k);
      const int64_t at = panel_index(e.row, e.col);
      EXPECT_EQ(back[at], 0) << "an exception is coded as +0";
      back[at] = e.bits;
    }
    for (size_t i = 0; i < panel.size(); ++i) ASSERT_EQ(back[i], panel[i]) << i;
    // The window sits where the normal weights are: besides the specials outside it (at most 8
    // of the 12), only the far tail of small values.
    EXPECT_LE(exceptions.size(), 8 + static_cast<size_t>(32 * k) / 1000);
  }
}

// Loading packs bf16 rows by copying their words (no widening to float32 and rounding back):
// the panels and exception lists must be byte for byte those of the float32 path, which rounds
// the same values to bf16 — signalling NaNs made quiet, as that rounding does — for a source in
// two row segments, a partial last panel, with and without threads.
TEST(BF16Compact, Bf16RowsPackLikeTheirFloatValues) {
  const int64_t out = 70, k = 192, split = 40;
  const std::vector<float> w = random_values(static_cast<size_t>(out * k), 13, 0.02f);
  std::vector<uint16_t> bits(w.size());
  for (size_t i = 0; i < w.size(); ++i) bits[i] = f32_to_bf16(w[i]);
  const uint16_t specials[] = {0x7f81, 0xff81, 0x7fbf, 0x7fc1, 0xffff, 0x7f80, 0xff80,
                               0x0001, 0x8000, 0x0000, 0x7f7f, 0x4780, 0x0080};
  for (size_t i = 0; i < std::size(specials); ++i) bits[i * 997 % bits.size()] = specials[i];
  std::vector<float> widened(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) widened[i] = bf16_to_f32(bits[i]);

  std::vector<std::byte> bf16_store, f32_store;
  auto two_segments = [&](const std::byte* data, DType dtype, size_t row_bytes) {
    Matrix m;
    m.dtype = dtype;
    m.in = k;
    // Rows [split, out) first in memory, so the segments are not one contiguous run.
    std::vector<std::byte>& store = dtype == DType::kBF16 ? bf16_store : f32_store;
    store.assign(data + split * row_bytes, data + out * row_bytes);
    store.insert(store.end(), data, data + split * row_bytes);
    m.append(store.data() + (out - split) * row_bytes, split);
    m.append(store.data(), out - split);
    m.out = out;
    return m;
  };
  const Matrix from_bf16 = two_segments(reinterpret_cast<const std::byte*>(bits.data()),
                                        DType::kBF16, static_cast<size_t>(k) * 2);
  const Matrix from_f32 = two_segments(reinterpret_cast<const std::byte*>(widened.data()),
                                       DType::kF32, static_cast<size_t>(k) * 4);
  ThreadPool pool(2);
  for (const MatrixLayout layout : {MatrixLayout::kBF16Panels, MatrixLayout::kBF16Compact}) {
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
      SCOPED_TRACE(testing::Message() << "layout " << static_cast<int>(layout) << " threads "
                                      << (p == nullptr ? 0 : 2));
      WeightArena arena;
      const Matrix a = pack_matrix(from_bf16, layout, arena, p).value();
      const Matrix b = pack_matrix(from_f32, layout, arena, p).value();
      const size_t n = packed_bytes(layout, out, k);
      ASSERT_TRUE(std::equal(a.packed, a.packed + n, b.packed));
      if (layout == MatrixLayout::kBF16Compact) {
        ASSERT_EQ(compact_exception_bytes(a), compact_exception_bytes(b));
        ptrdiff_t listed = 0;  // NaNs, infinities and 2^16 lie outside any window of these values
        for (int64_t panel = 0; panel < panel_count(out); ++panel) {
          const CompactExceptionList e = compact_exceptions(a, panel);
          listed += e.end - e.begin;
        }
        EXPECT_GE(listed, 8);
        EXPECT_TRUE(
            std::equal(a.exceptions, a.exceptions + compact_exception_bytes(a), b.exceptions));
      }
    }
  }
}

// Nine in ten weights near 0.01, one in ten near 1e4: the window holds the small ones, and every
// large one (13 binades above them) is an exception. The products are then mostly the
// exceptions', so a missing or misplaced exception shows far above the tolerance. Every kernel
// table, through each of its paths: up to 16 rows (AVX-512: weights rebuilt in registers, 8 rows
// per pass, exceptions added after) and more (the panel rebuilt whole with its exceptions, then
// exactly the kBF16Panels product), and ops::linear.
TEST(BF16Compact, ProductsIncludeTheExceptions) {
  const int64_t out = 70, k = 192;
  std::vector<float> w = random_values(static_cast<size_t>(out * k), 9, 0.01f);
  for (size_t i = 0; i < w.size(); i += 10) w[i] = (i % 20 == 0 ? 1e4f : -1e4f) + w[i];
  WeightArena arena;
  ThreadPool pool(2);
  const Matrix compact =
      pack_matrix(rows_matrix(w, out, k), MatrixLayout::kBF16Compact, arena, &pool).value();
  const Matrix plain =
      pack_matrix(rows_matrix(w, out, k), MatrixLayout::kBF16Panels, arena, &pool).value();
  int64_t exceptions = 0;
  for (int64_t p = 0; p * 32 < out; ++p) {
    const CompactExceptionList list = compact_exceptions(compact, p);
    exceptions += list.end - list.begin;
  }
  EXPECT_GE(exceptions, out * k / 10);                   // every large weight
  EXPECT_LE(exceptions, out * k / 10 + out * k / 1000);  // and a few of the smallest
  for (const int64_t m : {1, 2, 5, 8, 13, 20}) {
    SCOPED_TRACE(testing::Message() << "rows " << m);
    const std::vector<float> x = random_values(static_cast<size_t>(m * k), 10);
    std::vector<uint16_t> a(x.size());
    to_bf16(x.data(), static_cast<int64_t>(x.size()), a.data());
    const std::vector<float> bias = random_values(static_cast<size_t>(out), 11);
    std::vector<double> want(static_cast<size_t>(m * out)), scale(want.size());
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t r = 0; r < out; ++r) {
        double sum = bias[r], magnitude = std::fabs(bias[r]);
        for (int64_t c = 0; c < k; ++c) {
          const double p =
              static_cast<double>(bf16_to_f32(a[i * k + c])) * round_to_bf16(w[r * k + c]);
          sum += p;
          magnitude += std::fabs(p);
        }
        want[i * out + r] = sum;
        scale[i * out + r] = magnitude;
      }
    }
    std::vector<float> y(want.size(), NAN);
    linear(x.data(), m, compact, bias.data(), y.data(), &pool);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 1e-6 * scale[i]) << i;
    for (const PackedKernels* t : kernel_tables()) {
      SCOPED_TRACE(t->name);
      std::vector<float> yc(want.size(), NAN), yp(want.size(), NAN);
      for (int64_t p = 0; p * 32 < out; ++p) {
        const int64_t cols = std::min<int64_t>(32, out - p * 32);
        t->compact_panel_product(a.data(), k, m, compact.packed + p * compact_panel_bytes(k),
                                 compact_exceptions(compact, p), k, cols, bias.data() + p * 32,
                                 yc.data() + p * 32, out);
        t->panel_product(a.data(), k, m,
                         reinterpret_cast<const uint16_t*>(plain.packed) + p * 32 * k, k, cols,
                         bias.data() + p * 32, yp.data() + p * 32, out);
      }
      for (size_t i = 0; i < yc.size(); ++i) {
        ASSERT_NEAR(yc[i], want[i], 1e-6 * scale[i]) << i;
        // Rebuilt whole, the panel is the plain one: the same bits.
        if (m > 16) {
          ASSERT_EQ(yc[i], yp[i]) << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace ivl::ops
