// The packed weight layouts and their kernels (issue 5): the scalar quantizers against their
// definition, the fp16 scale conversion against IEEE values, and every kernel table (portable and,
// on CPUs that have it, AVX-512) against a double-precision product of the same rounded operands.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "core/thread_pool.h"
#include "core/weight_arena.h"
#include "ops/attention.h"
#include "ops/linear.h"
#include "ops/packed_formats.h"
#include "ops/packed_kernels.h"
#include "ops/packed_test_support.h"

namespace ivl::ops {
namespace {

TEST(Half, RoundsToNearestEvenLikeIeee) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(0.1f), 0x2e66);
  EXPECT_EQ(f32_to_f16(65504.f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.f), 0x7c00);                     // rounds up to inf
  EXPECT_EQ(f32_to_f16(std::ldexp(1.f, -24)), 0x0001);        // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.f, -26)), 0x0000);        // below half of it
  EXPECT_EQ(f32_to_f16(std::ldexp(1.f, -14)), 0x0400);        // smallest normal
  EXPECT_EQ(f32_to_f16(1.f + std::ldexp(1.f, -11)), 0x3c00);  // tie -> even
  EXPECT_EQ(f32_to_f16(1.f + 3 * std::ldexp(1.f, -11)), 0x3c02);
  for (uint32_t h = 0; h < 0x7c00; ++h) {  // every finite half survives the round trip
    ASSERT_EQ(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))), h);
  }
}

class RowQuant : public ::testing::TestWithParam<MatrixLayout> {};

TEST_P(RowQuant, ErrorIsWithinHalfAStepOfTheBlockScale) {
  const MatrixLayout layout = GetParam();
  const int64_t k = 800;  // a full super-block of 16 blocks and a partial one of 9
  std::vector<float> w = random_values(k, 7, 0.02f);
  w[5] = 0.f;
  std::fill(w.begin() + 64, w.begin() + 96, 0.f);  // an all-zero block
  std::vector<std::byte> q(quant_row_bytes(layout, k));
  quantize_row(w.data(), k, layout, q.data());
  std::vector<float> back(k);
  dequantize_row(q.data(), k, layout, back.data());
  for (int64_t b = 0; b < k / kQuantBlock; ++b) {
    float amax = 0.f;
    for (int64_t i = b * 32; i < (b + 1) * 32; ++i) amax = std::max(amax, std::fabs(w[i]));
    // q8_0: half a step of amax / 127. q4_0 (codes -8..7 around the extreme's sign): half a step
    // of amax / 8, except a full step at the far end where +8 is clamped to +7. Plus the fp16
    // rounding of the scale (relative 2^-11 of each value).
    const float bound = layout == MatrixLayout::kQ8_0 ? 0.5f * amax / 127.f : amax / 8.f;
    for (int64_t i = b * 32; i < (b + 1) * 32; ++i) {
      EXPECT_LE(std::fabs(back[i] - w[i]), bound * 1.01f + 1e-9f) << i;
    }
  }
  for (int64_t i = 64; i < 96; ++i) EXPECT_EQ(back[i], 0.f);
}

// Values exactly halfway between two codes round to the even one (std::nearbyint's rule).
TEST_P(RowQuant, HalfwayValuesRoundToTheEvenCode) {
  const MatrixLayout layout = GetParam();
  const bool q8 = layout == MatrixLayout::kQ8_0;
  const int64_t k = 32 * 20;  // one full super-block and a partial one
  // Each block's first weight fixes its scale at a power of two: q8_0 d = amax / 127 = 2^-7,
  // q4_0 d = wmax / -8 = 2^-3. The others sit on halves of that step, both signs.
  const float d = q8 ? 0x1p-7f : 0x1p-3f;
  std::vector<float> w(k);
  for (int64_t i = 0; i < k; ++i) {
    const int64_t n = (i * 7) % 31 - 15;  // -15 .. 15
    w[i] =
        i % 32 == 0 ? (q8 ? 127 * d : -8 * d) : (static_cast<float>(n % (q8 ? 16 : 8)) + 0.5f) * d;
  }
  std::vector<std::byte> q(quant_row_bytes(layout, k));
  quantize_row(w.data(), k, layout, q.data());
  std::vector<float> back(k);
  dequantize_row(q.data(), k, layout, back.data());
  const float lo = q8 ? -127.f : -8.f, hi = q8 ? 127.f : 7.f;
  for (int64_t i = 0; i < k; ++i) {
    const float code = std::clamp(std::nearbyint(w[i] / d), lo, hi);
    ASSERT_EQ(back[i], code * d) << i << ": " << w[i] / d;
  }
}

// A block that a quantized format cannot hold — a NaN or infinite weight, or weights so large
// that the block's fp16 scale overflows — is reported, never coded as garbage: quantize_row says
// which kind its first such block is and stores that block as zeros, the other blocks as usual.
TEST_P(RowQuant, ABlockThatDoesNotFitIsReportedAndStoredAsZeros) {
  const MatrixLayout layout = GetParam();
  const bool q8 = layout == MatrixLayout::kQ8_0;
  const int64_t k = 128;
  // The largest magnitude whose scale still rounds to a finite fp16 (65504 · 127, 65504 · 8),
  // and one well beyond it.
  const float largest = q8 ? 65504.f * 127.f : 65504.f * 8.f;
  struct Case {
    float value;
    BlockFit fit;
  };
  for (const Case c :
       {Case{std::nanf(""), BlockFit::kNotFinite}, Case{-std::nanf(""), BlockFit::kNotFinite},
        Case{INFINITY, BlockFit::kNotFinite}, Case{-INFINITY, BlockFit::kNotFinite},
        Case{largest * 1.01f, BlockFit::kScaleOverflow},
        Case{-largest * 1.01f, BlockFit::kScaleOverflow}, Case{largest, BlockFit::kFits},
        Case{-largest, BlockFit::kFits}}) {
    SCOPED_TRACE(c.value);
    std::vector<float> w = random_values(static_cast<size_t>(k), 5, 0.1f);
    w[70] = c.value;  // block 2
    std::vector<std::byte> q(quant_row_bytes(layout, k));
    EXPECT_EQ(quantize_row(w.data(), k, layout, q.data()), c.fit);
    std::vector<float> back(static_cast<size_t>(k));
    dequantize_row(q.data(), k, layout, back.data());
    for (int64_t i = 0; i < k; ++i) {
      ASSERT_TRUE(std::isfinite(back[i])) << i;
      if (i / kQuantBlock == 2) {
        if (c.fit != BlockFit::kFits) {
          ASSERT_EQ(back[i], 0.f) << i;
        }
      } else {  // the other blocks as if alone
        ASSERT_LE(std::fabs(back[i] - w[i]), 0.1f * 4.f / (q8 ? 127.f : 8.f)) << i;
      }
    }
    if (c.fit == BlockFit::kFits) {
      EXPECT_EQ(back[70], c.value);  // the largest weight codes as ±127 · d or −8 · d exactly
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, RowQuant,
                         ::testing::Values(MatrixLayout::kQ8_0, MatrixLayout::kQ4_0));

// y = x · wᵀ in double from the operands as the kernels see them.
std::vector<double> expected_product(const std::vector<float>& x, int64_t m, const Matrix& packed,
                                     const std::vector<float>& w, const std::vector<float>& bias,
                                     int64_t out, int64_t k) {
  // Quantized weights are dequantized exactly and meet int8-quantized activations (integer GEMV
  // and GEMM); bf16 panels (plain or compact) hold the weights rounded to bf16 and meet bf16
  // activations.
  const bool int_activations = !is_bf16_panels(packed.layout);
  std::vector<float> wq(w.size());
  for (int64_t r = 0; r < out; ++r) {
    if (is_bf16_panels(packed.layout)) {
      for (int64_t c = 0; c < k; ++c) wq[r * k + c] = round_to_bf16(w[r * k + c]);
    } else {
      dequantize_row(quant_rows(packed) + r * quant_row_bytes(packed.layout, k), k, packed.layout,
                     wq.data() + r * k);
    }
  }
  std::vector<double> y(static_cast<size_t>(m * out));
  for (int64_t i = 0; i < m; ++i) {
    std::vector<float> xi(x.begin() + i * k, x.begin() + (i + 1) * k);
    if (int_activations) {  // int8 blocks of 32, as quantize_activation defines
      std::vector<int8_t> q(k);
      std::vector<float> d(k / 32);
      std::vector<int32_t> s(k / 32);
      quantize_activation(xi.data(), k, q.data(), d.data(), s.data());
      for (int64_t c = 0; c < k; ++c) xi[c] = d[c / 32] * q[c];
    } else {
      for (float& v : xi) v = round_to_bf16(v);
    }
    for (int64_t r = 0; r < out; ++r) {
      double acc = bias.empty() ? 0.0 : bias[r];
      for (int64_t c = 0; c < k; ++c) acc += static_cast<double>(xi[c]) * wq[r * k + c];
      y[i * out + r] = acc;
    }
  }
  return y;
}

struct Shape {
  int64_t m, out, k;
};

class PackedLinear
    : public ::testing::TestWithParam<std::tuple<MatrixLayout, Shape, bool /*bias*/>> {};

TEST_P(PackedLinear, MatchesDoublePrecisionOnBothKernelTables) {
  const auto [layout, shape, with_bias] = GetParam();
  const auto [m, out, k] = shape;
  if (!layout_fits(layout, k)) GTEST_FAIL() << "test shape does not fit the layout";
  const std::vector<float> w = random_values(static_cast<size_t>(out * k), 1, 0.05f);
  const std::vector<float> x = random_values(static_cast<size_t>(m * k), 2);
  const std::vector<float> bias =
      with_bias ? random_values(static_cast<size_t>(out), 3) : std::vector<float>();
  WeightArena arena;
  ThreadPool pool(2);
  const Matrix packed = pack_matrix(rows_matrix(w, out, k), layout, arena, &pool).value();
  const std::vector<double> want = expected_product(x, m, packed, w, bias, out, k);
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::fabs(v));

  // Through ops::linear (the active table, threaded) ...
  std::vector<float> y(static_cast<size_t>(m * out), NAN);
  linear(x.data(), m, packed, with_bias ? bias.data() : nullptr, y.data(), &pool);
  for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 2e-5 * scale) << i;

  // ... and each table's kernels directly, for the table linear() did not pick.
  const std::vector<const PackedKernels*> tables = kernel_tables();
  for (const PackedKernels* t : tables) {
    SCOPED_TRACE(t->name);
    std::fill(y.begin(), y.end(), NAN);
    const float* b = with_bias ? bias.data() : nullptr;
    if (layout == MatrixLayout::kBF16Panels) {
      std::vector<uint16_t> a(static_cast<size_t>(m * k));
      to_bf16(x.data(), m * k, a.data());
      for (int64_t p = 0; p * 32 < out; ++p) {
        const int64_t cols = std::min<int64_t>(32, out - p * 32);
        t->panel_product(a.data(), k, m,
                         reinterpret_cast<const uint16_t*>(packed.packed) + p * 32 * k, k, cols,
                         b != nullptr ? b + p * 32 : nullptr, y.data() + p * 32, out);
      }
    } else if (layout == MatrixLayout::kBF16Compact) {
      std::vector<uint16_t> a(static_cast<size_t>(m * k));
      to_bf16(x.data(), m * k, a.data());
      for (int64_t p = 0; p * 32 < out; ++p) {
        const int64_t cols = std::min<int64_t>(32, out - p * 32);
        t->compact_panel_product(a.data(), k, m, packed.packed + p * compact_panel_bytes(k),
                                 compact_exceptions(packed, p), k, cols,
                                 b != nullptr ? b + p * 32 : nullptr, y.data() + p * 32, out);
      }
    } else {
      std::vector<int8_t> q(static_cast<size_t>(m * k));
      std::vector<float> d(static_cast<size_t>(m * k / 32));
      std::vector<int32_t> s(static_cast<size_t>(m * k / 32));
      for (int64_t i = 0; i < m; ++i) {
        quantize_activation(x.data() + i * k, k, q.data() + i * k, d.data() + i * k / 32,
                            s.data() + i * k / 32);
      }
      const bool q8 = layout == MatrixLayout::kQ8_0;
      if (m == 1) {
        if (q8) {
          t->q8_0_gemv(q.data(), d.data(), s.data(), quant_rows(packed), k, out, b, y.data());
        } else {
          t->q4_0_gemv(q.data(), d.data(), s.data(), quant_rows(packed), k, out, b, y.data());
        }
      } else {
        (q8 ? t->q8_0_gemm : t->q4_0_gemm)(q.data(), d.data(), s.data(), m, quant_rows(packed), k,
                                           out, b, y.data(), out);
      }
    }
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 2e-5 * scale) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PackedLinear,
    ::testing::Combine(::testing::Values(MatrixLayout::kBF16Panels, MatrixLayout::kBF16Compact,
                                         MatrixLayout::kQ8_0, MatrixLayout::kQ4_0),
                       // m = 1 (decode), a partial micro-tile, a full one + rest; out not a
                       // multiple of 32; k with an odd number of 32-blocks (q8_0) and not.
                       // k = 896: one full super-block of 16 blocks and a partial one of 12.
                       ::testing::Values(Shape{1, 45, 128}, Shape{1, 64, 192}, Shape{5, 70, 128},
                                         Shape{29, 33, 256}, Shape{1, 40, 896}, Shape{3, 21, 896},
                                         Shape{1, 9, 1024}),
                       ::testing::Bool()));

// The AVX-512 quantized GEMV walks rows four at a time or one at a time, with or without
// software prefetch (into L1, or for long q4_0 rows into L2), and short rows with the activations
// in registers or not, as the CPU's QuantGemvPolicy says. Every walk must give the same bits (the
// policy is chosen by measurement, per CPU, and must not change results), and the right ones: each
// is run here, whatever this CPU chose, against the dequantized double-precision product, with and
// without a bias (added after the row's sum, so the two differ by exactly one float addition). On a
// CPU without the AVX-512 table only the portable kernels run.
TEST(QuantGemv, EveryRowWalkGivesTheSameBits) {
  const RestoreGemvPolicy restore;
  constexpr int64_t kOut = 45;  // not a multiple of four: a four-row walk ends with single rows
  for (const MatrixLayout layout : {MatrixLayout::kQ8_0, MatrixLayout::kQ4_0}) {
    // One partial super-block (96), one full (512), a full and a partial one (896), two full
    // (1024), two full and a partial one (1440), three full (1536), three full and a partial one
    // (1952), four full (2048), long rows ending in a partial super-block (4864) and in a full
    // one (6144).
    for (const int64_t k : {96, 512, 896, 1024, 1440, 1536, 1952, 2048, 4864, 6144}) {
      SCOPED_TRACE(testing::Message() << "layout " << static_cast<int>(layout) << ", k " << k);
      const std::vector<float> w = random_values(static_cast<size_t>(kOut * k), 7, 0.05f);
      const std::vector<float> x = random_values(static_cast<size_t>(k), 8);
      const std::vector<float> bias = random_values(static_cast<size_t>(kOut), 9);
      WeightArena arena;
      const Matrix packed = pack_matrix(rows_matrix(w, kOut, k), layout, arena, nullptr).value();
      const std::vector<double> want = expected_product(x, 1, packed, w, bias, kOut, k);
      double scale = 0;
      for (double v : want) scale = std::max(scale, std::fabs(v));
      const QuantizedRow a(x);
      for (const PackedKernels* t : kernel_tables()) {
        SCOPED_TRACE(t->name);
        const auto gemv = layout == MatrixLayout::kQ8_0 ? t->q8_0_gemv : t->q4_0_gemv;
        std::vector<float> first;
        for (const QuantGemvPolicy& walk : every_row_walk()) {
          avx512_quant_gemv_policy() = walk;
          std::vector<float> y(static_cast<size_t>(kOut), NAN);
          gemv(a.q.data(), a.d.data(), a.s.data(), quant_rows(packed), k, kOut, bias.data(),
               y.data());
          for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 2e-5 * scale) << i;
          std::vector<float> unbiased(static_cast<size_t>(kOut), NAN);
          gemv(a.q.data(), a.d.data(), a.s.data(), quant_rows(packed), k, kOut, nullptr,
               unbiased.data());
          for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(unbiased[i] + bias[i], y[i]) << i;
          if (first.empty()) {
            first = y;
          } else {
            for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], first[i]) << i;
          }
        }
      }
    }
  }
}

// Each table's quantize_rows gives quantize_activation's results bit for bit: random blocks, an
// all-zero block, and a block whose scale is exactly 1 so that x · inv lands on halves (ties
// round to even, as nearbyint does).
TEST(QuantizeRows, MatchesQuantizeActivationExactly) {
  const int64_t m = 7, k = 96, nb = k / 32;
  std::vector<float> x = random_values(static_cast<size_t>(m * k), 31, 3.f);
  std::fill(x.begin() + 32, x.begin() + 64, 0.f);
  for (int64_t c = 0; c < 32; ++c)
    x[static_cast<size_t>(k + c)] = 0.5f * static_cast<float>(c - 16);
  x[static_cast<size_t>(k + 5)] = 127.f;
  // A block so small that max|x| / 127 is subnormal (1 / d would be infinite): zeros.
  for (int64_t c = 0; c < 32; ++c) {
    x[static_cast<size_t>(2 * k + c)] = 1e-38f * static_cast<float>(c - 16);
  }
  x[static_cast<size_t>(2 * k + 40)] = -0.f;
  std::vector<int8_t> want_q(static_cast<size_t>(m * k));
  std::vector<float> want_d(static_cast<size_t>(m * nb));
  std::vector<int32_t> want_s(static_cast<size_t>(m * nb));
  for (int64_t i = 0; i < m; ++i) {
    quantize_activation(x.data() + i * k, k, want_q.data() + i * k, want_d.data() + i * nb,
                        want_s.data() + i * nb);
  }
  EXPECT_EQ(want_q[static_cast<size_t>(k + 1)], -8);  // -7.5 -> -8 (even)
  EXPECT_EQ(want_q[static_cast<size_t>(k + 3)], -6);  // -6.5 -> -6
  for (int64_t c = 0; c < 32; ++c) EXPECT_EQ(want_q[static_cast<size_t>(2 * k + c)], 0) << c;
  const std::vector<const PackedKernels*> tables = kernel_tables();
  for (const PackedKernels* t : tables) {
    SCOPED_TRACE(t->name);
    std::vector<int8_t> q(want_q.size());
    std::vector<float> d(want_d.size());
    std::vector<int32_t> s(want_s.size());
    t->quantize_rows(x.data(), m, k, q.data(), d.data(), s.data());
    EXPECT_EQ(q, want_q);
    EXPECT_EQ(d, want_d);
    EXPECT_EQ(s, want_s);
  }
}

// A block holding a NaN or an infinity is not laundered into finite codes: its scale is NaN and
// its codes zero on every table, so each output of a quantized product that reads it is NaN and
// generation's check of the logits sees it. The other blocks are quantized as usual.
TEST(QuantizeRows, ANonFiniteBlockGetsANanScale) {
  const int64_t m = 4, k = 96, nb = k / 32, out = 40;
  for (const float bad : {NAN, INFINITY, -INFINITY}) {
    SCOPED_TRACE(bad);
    std::vector<float> x = random_values(static_cast<size_t>(m * k), 32, 2.f);
    x[static_cast<size_t>(1 * k + 40)] = bad;  // row 1, block 1
    x[static_cast<size_t>(3 * k + 95)] = bad;  // row 3, block 2 (its last value)
    WeightArena arena;
    const std::vector<float> w = random_values(static_cast<size_t>(out * k), 33, 0.05f);
    for (const PackedKernels* t : kernel_tables()) {
      SCOPED_TRACE(t->name);
      std::vector<int8_t> q(static_cast<size_t>(m * k), 1);
      std::vector<float> d(static_cast<size_t>(m * nb));
      std::vector<int32_t> s(static_cast<size_t>(m * nb), 1);
      t->quantize_rows(x.data(), m, k, q.data(), d.data(), s.data());
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t b = 0; b < nb; ++b) {
          const bool non_finite = (i == 1 && b == 1) || (i == 3 && b == 2);
          const size_t at = static_cast<size_t>(i * nb + b);
          ASSERT_EQ(std::isnan(d[at]), non_finite) << i << " " << b;
          if (non_finite) {
            EXPECT_EQ(s[at], 0);
            for (int64_t c = 0; c < 32; ++c)
              EXPECT_EQ(q[static_cast<size_t>(i * k + b * 32 + c)], 0);
          }
        }
      }
      for (MatrixLayout layout : {MatrixLayout::kQ8_0, MatrixLayout::kQ4_0}) {
        const Matrix packed = pack_matrix(rows_matrix(w, out, k), layout, arena, nullptr).value();
        const auto gemv = layout == MatrixLayout::kQ8_0 ? t->q8_0_gemv : t->q4_0_gemv;
        const auto gemm = layout == MatrixLayout::kQ8_0 ? t->q8_0_gemm : t->q4_0_gemm;
        std::vector<float> y(static_cast<size_t>(m * out));
        gemm(q.data(), d.data(), s.data(), m, quant_rows(packed), k, out, nullptr, y.data(), out);
        for (int64_t i = 0; i < m; ++i) {
          std::vector<float> row(static_cast<size_t>(out));
          gemv(q.data() + i * k, d.data() + i * nb, s.data() + i * nb, quant_rows(packed), k, out,
               nullptr, row.data());
          for (int64_t r = 0; r < out; ++r) {
            const bool want_nan = i == 1 || i == 3;
            ASSERT_EQ(std::isnan(y[static_cast<size_t>(i * out + r)]), want_nan) << i << " " << r;
            ASSERT_EQ(std::isnan(row[static_cast<size_t>(r)]), want_nan) << i << " " << r;
          }
        }
      }
    }
  }
}

// The integer GEMM (prefill with quantized weights) on each kernel table and through linear():
// against a double-precision product of the operands exactly as the kernels see them (the
// dequantized weights and the dequantized int8 activations), so the bound only allows float
// summation order. Shapes: activation rows around the AVX-512 tile of 6 rows, K with partial
// super-blocks (nb = 15, 17, 33) and a lone block, weight rows that end mid-panel, and a matrix
// in several segments whose boundaries fall inside 32-row panels. Through linear(), m = 1 and 2
// take the per-row GEMV path (packed_linear.cc, kGemvRowsMax), 5 and more the GEMM.
class QuantGemm
    : public ::testing::TestWithParam<std::tuple<MatrixLayout, int64_t /*m*/, int64_t /*nb*/>> {};

TEST_P(QuantGemm, MatchesDequantizedOperandsOnBothTablesAndThroughLinear) {
  const auto [layout, m, nb] = GetParam();
  const int64_t k = 32 * nb, out = 77;
  const std::vector<float> w = random_values(static_cast<size_t>(out * k), 21, 0.05f);
  std::vector<float> x = random_values(static_cast<size_t>(m * k), 22);
  for (int64_t c = 0; c < 32; ++c) x[c] = 0.f;  // an all-zero activation block (dx = 0)
  const std::vector<float> bias = random_values(static_cast<size_t>(out), 23);
  WeightArena arena;
  ThreadPool pool(2);
  const Matrix packed = pack_matrix(rows_matrix(w, out, k), layout, arena, nullptr).value();
  const size_t row_bytes = quant_row_bytes(layout, k);

  std::vector<int8_t> q(static_cast<size_t>(m * k));
  std::vector<float> d(static_cast<size_t>(m * nb));
  std::vector<int32_t> s(static_cast<size_t>(m * nb));
  for (int64_t i = 0; i < m; ++i) {
    quantize_activation(x.data() + i * k, k, q.data() + i * k, d.data() + i * nb,
                        s.data() + i * nb);
  }
  std::vector<float> wq(static_cast<size_t>(out * k));
  for (int64_t r = 0; r < out; ++r) {
    dequantize_row(quant_rows(packed) + r * row_bytes, k, layout, wq.data() + r * k);
  }
  // want[i, r] and the bound: float accumulation of nb block terms (each exact in integers, then
  // two roundings) stays within a few units of 2^-24 per block of Σ |x|·|w|.
  std::vector<double> want(static_cast<size_t>(m * out)), bound(want.size());
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t r = 0; r < out; ++r) {
      double acc = bias[r], mag = std::fabs(bias[r]);
      for (int64_t c = 0; c < k; ++c) {
        const double p = static_cast<double>(d[(i * k + c) / 32] * q[i * k + c]) * wq[r * k + c];
        acc += p;
        mag += std::fabs(p);
      }
      want[i * out + r] = acc;
      bound[i * out + r] = 4.0 * static_cast<double>(nb + 2) * std::ldexp(mag, -24) + 1e-30;
    }
  }
  const bool q8 = layout == MatrixLayout::kQ8_0;
  const std::vector<const PackedKernels*> tables = kernel_tables();
  const int64_t ldc = out + 3;  // c's row stride is not n
  for (const PackedKernels* t : tables) {
    SCOPED_TRACE(t->name);
    for (const bool with_bias : {false, true}) {
      std::vector<float> c(static_cast<size_t>(m * ldc), NAN);
      (q8 ? t->q8_0_gemm : t->q4_0_gemm)(q.data(), d.data(), s.data(), m, quant_rows(packed), k,
                                         out, with_bias ? bias.data() : nullptr, c.data(), ldc);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t r = 0; r < out; ++r) {
          const double expect = want[i * out + r] - (with_bias ? 0.f : bias[r]);
          ASSERT_NEAR(c[i * ldc + r], expect, bound[i * out + r]) << i << "," << r;
        }
        for (int64_t r = out; r < ldc; ++r) ASSERT_TRUE(std::isnan(c[i * ldc + r])) << "padding";
      }
    }
  }

  // Through linear(), threaded, with the rows in three segments (copies that are not adjacent in
  // memory, so Matrix::append keeps them apart) split at rows 7 and 40.
  std::vector<std::byte> copy(row_bytes * static_cast<size_t>(out + 2));
  const int64_t cuts[] = {0, 7, 40, out};
  Matrix split;
  split.dtype = packed.dtype;
  split.in = k;
  split.layout = layout;
  for (int p = 0; p < 3; ++p) {
    std::byte* at = copy.data() + static_cast<size_t>(cuts[p] + p) * row_bytes;
    std::memcpy(at, quant_rows(packed) + static_cast<size_t>(cuts[p]) * row_bytes,
                static_cast<size_t>(cuts[p + 1] - cuts[p]) * row_bytes);
    split.append(at, cuts[p + 1] - cuts[p]);
  }
  ASSERT_EQ(split.segments.size(), 3u);
  std::vector<float> y(static_cast<size_t>(m * out), NAN);
  linear(x.data(), m, split, bias.data(), y.data(), &pool);
  for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], bound[i]) << i;
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, QuantGemm,
    ::testing::Combine(::testing::Values(MatrixLayout::kQ8_0, MatrixLayout::kQ4_0),
                       ::testing::Values(1, 2, 5, 13, 100), ::testing::Values(1, 15, 16, 17, 33)));

TEST(PackedLinear, Q8HandlesAnOddNumberOfBlocks) {
  const int64_t out = 9, k = 96;  // 3 blocks: the last 64-byte group is half full
  const std::vector<float> w = random_values(out * k, 11, 0.05f), x = random_values(k, 12);
  WeightArena arena;
  const Matrix packed =
      pack_matrix(rows_matrix(w, out, k), MatrixLayout::kQ8_0, arena, nullptr).value();
  const std::vector<double> want = expected_product(x, 1, packed, w, {}, out, k);
  std::vector<float> y(out);
  linear(x.data(), 1, packed, nullptr, y.data(), nullptr);
  for (int64_t i = 0; i < out; ++i) EXPECT_NEAR(y[i], want[i], 1e-4);
}

// The interleaved code order is a permutation: every code byte (q8_0) / nibble (q4_0) of a row
// is used by exactly one weight.
TEST(PackedLayouts, CodeOffsetsArePermutations) {
  for (int64_t nb : {1, 3, 16, 17, 28, 152}) {
    std::vector<int> q8(static_cast<size_t>(32 * nb)), q4(static_cast<size_t>(32 * nb));
    for (int64_t i = 0; i < 32 * nb; ++i) {
      ++q8[static_cast<size_t>(q8_code_offset(i, nb))];
      bool high = false;
      const int64_t at = q4_code_offset(i, nb, &high);
      ASSERT_LT(at, 16 * nb);
      ++q4[static_cast<size_t>(2 * at + (high ? 1 : 0))];
    }
    for (int c : q8) ASSERT_EQ(c, 1) << nb;
    for (int c : q4) ASSERT_EQ(c, 1) << nb;
  }
}

// The vectorised conversion equals the scalar RNE rounding (torch's cast), specials included.
TEST(ToBf16, MatchesScalarRoundingIncludingSpecials) {
  std::vector<float> x = random_values(1000, 5, 3.f);
  for (float v : {0.f, -0.f, INFINITY, -INFINITY, NAN, 3.4028235e38f, 1.0f + 1.0f / 256,
                  1.0f + 3.0f / 256, 1e-40f, -1e-40f})
    x.push_back(v);
  std::vector<uint16_t> got(x.size());
  to_bf16(x.data(), static_cast<int64_t>(x.size()), got.data());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(got[i], f32_to_bf16(x[i])) << x[i];
  // The kernel tables' entries, over lengths with partial vectors.
  const std::vector<const PackedKernels*> tables = kernel_tables();
  for (const PackedKernels* t : tables) {
    for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{47}, static_cast<int64_t>(x.size())}) {
      std::fill(got.begin(), got.end(), uint16_t{0x1234});
      t->to_bf16(x.data() + x.size() - n, n, got.data());
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(got[i], f32_to_bf16(x[x.size() - n + i])) << t->name << " n=" << n;
      if (n < static_cast<int64_t>(x.size())) {
        EXPECT_EQ(got[n], 0x1234) << "wrote past n";
      }
    }
  }
}

// The attention softmax's bf16 numerators on every table: within bf16 rounding (2^-8 relative)
// of e^(scale·(x − max)), the sum within float32 summation error; lengths with partial vectors,
// large negative scores (the clamp at −87) included.
TEST(SoftmaxNumerators, MatchDoublePrecisionOnBothKernelTables) {
  const std::vector<const PackedKernels*> tables = kernel_tables();
  for (const PackedKernels* t : tables) {
    for (int64_t n : {1, 15, 16, 17, 33, 1025}) {
      SCOPED_TRACE(std::string(t->name) + " n=" + std::to_string(n));
      std::vector<float> x = random_values(static_cast<size_t>(n), 9, 4.f);
      if (n > 2) x[1] = -2000.f;  // e^(scale·(x − max)) underflows
      std::vector<uint16_t> num(static_cast<size_t>(n), 0xffff);
      const float scale = 0.125f;
      const float sum = t->softmax_numerators_bf16(x.data(), n, scale, num.data());
      double m = -1e30, ref_sum = 0;
      for (float v : x) m = std::max(m, double(v));
      for (int64_t i = 0; i < n; ++i) {
        const double e = std::exp((double(x[i]) - m) * scale);
        ref_sum += e;
        ASSERT_NEAR(bf16_to_f32(num[i]), e, e / 256 + 1e-37) << i;
      }
      EXPECT_NEAR(sum, ref_sum, ref_sum * 1e-5);
    }
  }
}

// Decode attention on every table against its definition in double precision: head sizes with
// partial vectors (24, 96) and whole ones (64, 128), query groups that split into register blocks
// unevenly (7 = 4 + 3) or not at all, cache lengths around the 16-position vectors. The cache rows
// and transposed keys are padded with NaN past what a call may read.
TEST(DecodeAttention, MatchesDoublePrecisionOnBothKernelTables) {
  struct CacheShape {
    int64_t d, groups, n;
  };
  const CacheShape shapes[] = {{64, 7, 1},   {64, 7, 17},   {64, 7, 600}, {24, 2, 15},  {96, 1, 33},
                               {128, 2, 16}, {128, 8, 100}, {64, 3, 64},  {96, 5, 1030}};
  for (const PackedKernels* t : kernel_tables()) {
    for (const CacheShape& sh : shapes) {
      SCOPED_TRACE(std::string(t->name) + " d=" + std::to_string(sh.d) +
                   " groups=" + std::to_string(sh.groups) + " n=" + std::to_string(sh.n));
      const int64_t d = sh.d, g = sh.groups, n = sh.n;
      const int64_t kt_stride = d * kKeyBlock + 5, v_stride = d + 8;
      const std::vector<float> q = random_values(static_cast<size_t>(g * d), 21, 0.5f);
      const std::vector<float> k = random_values(static_cast<size_t>(n * d), 22);
      std::vector<float> kt(static_cast<size_t>(key_blocks(n) * kt_stride), NAN);
      std::vector<float> v(static_cast<size_t>(n * v_stride), NAN);
      const std::vector<float> vals = random_values(static_cast<size_t>(n * d), 23);
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t c = 0; c < d; ++c) {
          kt[blocked_key_index(c, j, kt_stride)] = k[j * d + c];
          v[j * v_stride + c] = vals[j * d + c];
        }
      }
      const float scale = 1.0f / std::sqrt(static_cast<float>(d));
      std::vector<float> scores(static_cast<size_t>(g * n)), out(static_cast<size_t>(g * d), NAN);
      t->decode_attention(q.data(), g, d, kt.data(), kt_stride, v.data(), v_stride, n, scale,
                          scores.data(), out.data());
      for (int64_t h = 0; h < g; ++h) {
        std::vector<double> p(static_cast<size_t>(n));
        double m = -1e300, sum = 0;
        for (int64_t j = 0; j < n; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < d; ++c) dot += double(q[h * d + c]) * k[j * d + c];
          p[j] = dot * scale;
          m = std::max(m, p[j]);
        }
        for (double& x : p) sum += (x = std::exp(x - m));
        for (int64_t c = 0; c < d; ++c) {
          double o = 0;
          for (int64_t j = 0; j < n; ++j) o += p[j] / sum * vals[j * d + c];
          ASSERT_NEAR(out[h * d + c], o, 2e-5) << "head " << h << " column " << c;
        }
      }
    }
  }
}

TEST(PackedLayouts, FitRules) {
  EXPECT_TRUE(layout_fits(MatrixLayout::kBF16Panels, 588));
  EXPECT_FALSE(layout_fits(MatrixLayout::kBF16Panels, 7));
  EXPECT_FALSE(layout_fits(MatrixLayout::kQ8_0, 588));  // InternViT's patch embedding
  EXPECT_TRUE(layout_fits(MatrixLayout::kQ8_0, 96));
  EXPECT_TRUE(layout_fits(MatrixLayout::kQ4_0, 96));
  EXPECT_FALSE(layout_fits(MatrixLayout::kQ4_0, 80));
  EXPECT_EQ(packed_bytes(MatrixLayout::kQ8_0, 10, 64), 10u * (64 + 4));
  EXPECT_EQ(packed_bytes(MatrixLayout::kQ4_0, 10, 64), 10u * (32 + 4));
  EXPECT_EQ(packed_bytes(MatrixLayout::kBF16Panels, 33, 4), 64u * 4 * 2);
  EXPECT_TRUE(layout_fits(MatrixLayout::kBF16Compact, 588));
  EXPECT_FALSE(layout_fits(MatrixLayout::kBF16Compact, 7));
  // Two panels of a 64-byte table and one group of two column pairs (192 bytes) each.
  EXPECT_EQ(packed_bytes(MatrixLayout::kBF16Compact, 33, 4), 2u * (64 + 192));
  // Three column pairs take two groups, the second half empty.
  EXPECT_EQ(packed_bytes(MatrixLayout::kBF16Compact, 32, 6), 64u + 2 * 192);
}

TEST(WeightArena, AlignsAndZeroFills) {
  WeightArena arena;
  for (size_t n : {size_t{1}, size_t{100}, size_t{40} << 20, size_t{3}}) {
    std::byte* p = arena.allocate(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    EXPECT_EQ(p[0], std::byte{0});
    EXPECT_EQ(p[n - 1], std::byte{0});
    p[n - 1] = std::byte{1};
  }
}

// Small allocations fill the tails of earlier chunks before the open one (first fit): each
// chunk's partly used last 2 MiB page is resident whole.
TEST(WeightArena, FillsTheTailOfAnEarlierChunkFirst) {
  WeightArena arena;
  constexpr size_t kMiB = size_t{1} << 20;
  std::byte* first = arena.allocate(10 * kMiB);
  for (int i = 0; i < 5; ++i) arena.allocate(10 * kMiB);  // 60 MiB of the first 64 MiB chunk
  std::byte* second_chunk = arena.allocate(10 * kMiB);    // does not fit: a new chunk
  EXPECT_FALSE(second_chunk >= first && second_chunk < first + 64 * kMiB);
  std::byte* tail = arena.allocate(3 * kMiB);  // fits in the first chunk's 4 MiB tail
  EXPECT_TRUE(tail >= first + 60 * kMiB && tail + 3 * kMiB <= first + 64 * kMiB);
  EXPECT_EQ(arena.bytes_used(), 73 * kMiB);
}

// A matrix of more than one kPackBlockBytes block of source: every layout converts it to the
// same bytes as row by row (or panel by panel, one block), and rows_done reports consecutive
// blocks covering every row once, in order — the loader drops checkpoint pages there.
TEST(PackMatrix, ReportsEachBlockOfSourceRowsOnceInOrder) {
  const int64_t k = 1024;
  const auto rows_per_block = static_cast<int64_t>(kPackBlockBytes / (k * sizeof(float)));
  const int64_t out = 2 * rows_per_block + 40;  // two full blocks and a partial one
  const std::vector<float> w = random_values(static_cast<size_t>(out * k), 31, 0.05f);
  ThreadPool pool(2);
  for (MatrixLayout layout : {MatrixLayout::kQ8_0, MatrixLayout::kQ4_0, MatrixLayout::kBF16Panels,
                              MatrixLayout::kBF16Compact}) {
    SCOPED_TRACE(static_cast<int>(layout));
    std::vector<std::pair<int64_t, int64_t>> done;
    WeightArena arena;
    const Matrix packed =
        pack_matrix(rows_matrix(w, out, k), layout, arena, &pool, [&](int64_t r0, int64_t r1) {
          done.emplace_back(r0, r1);
        }).value();
    ASSERT_GE(done.size(), 3u);
    EXPECT_EQ(done.front().first, 0);
    EXPECT_EQ(done.back().second, out);
    for (size_t i = 1; i < done.size(); ++i) EXPECT_EQ(done[i].first, done[i - 1].second);
    // The same bytes as one conversion of the whole matrix on one thread.
    WeightArena reference_arena;
    const Matrix one =
        pack_matrix(rows_matrix(w, out, k), layout, reference_arena, nullptr).value();
    const size_t bytes = packed_bytes(layout, out, k);
    const std::byte* a = is_quantized_rows(layout) ? packed.segments.at(0).data : packed.packed;
    const std::byte* b = is_quantized_rows(layout) ? one.segments.at(0).data : one.packed;
    EXPECT_EQ(std::memcmp(a, b, bytes), 0);
    if (layout == MatrixLayout::kBF16Compact) {  // and the same exception list
      ASSERT_EQ(compact_exception_bytes(packed), compact_exception_bytes(one));
      EXPECT_EQ(std::memcmp(packed.exceptions, one.exceptions, compact_exception_bytes(one)), 0);
    }
  }
}

// pack_matrix names the first row that does not fit a quantized format (whichever thread met it),
// with the caller's name for it, and the bf16 layouts keep such values as they are.
TEST(PackMatrix, NamesTheFirstRowThatDoesNotFitAQuantizedFormat) {
  const int64_t out = 70, k = 96;
  std::vector<float> w = random_values(static_cast<size_t>(out * k), 9, 0.05f);
  // Two threads take rows [0, 35) and [35, 70): row 35 is the second thread's first row, row 34
  // the first thread's last — the lowest of all must win whichever thread finishes first.
  w[34 * k + 50] = std::nanf("");
  w[35 * k + 1] = std::nanf("");
  w[60 * k + 3] = INFINITY;
  w[66 * k + 90] = 1e9f;
  ThreadPool pool(2);
  for (MatrixLayout layout : {MatrixLayout::kQ8_0, MatrixLayout::kQ4_0}) {
    SCOPED_TRACE(static_cast<int>(layout));
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
      WeightArena arena;
      Result<Matrix> r = pack_matrix(rows_matrix(w, out, k), layout, arena, p);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), StatusCode::kCorruptData);
      EXPECT_NE(r.status().message().find("row 34 holds a NaN or infinite weight"),
                std::string::npos)
          << r.status().message();
    }
    WeightArena arena;
    std::vector<float> big = w;
    big[34 * k + 50] = 0.f;
    big[35 * k + 1] = 0.f;
    big[60 * k + 3] = 0.f;
    Result<Matrix> r =
        pack_matrix(rows_matrix(big, out, k), layout, arena, &pool, {},
                    [](int64_t row) { return "tensor 'x' row " + std::to_string(row + 100); });
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(r.status().message().find("tensor 'x' row 166 holds weights too large for"),
              std::string::npos)
        << r.status().message();
  }
  for (MatrixLayout layout : {MatrixLayout::kBF16Panels, MatrixLayout::kBF16Compact}) {
    WeightArena arena;
    EXPECT_TRUE(pack_matrix(rows_matrix(w, out, k), layout, arena, &pool).ok());
  }
}

}  // namespace
}  // namespace ivl::ops
