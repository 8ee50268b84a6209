// Helpers shared by the packed-kernel tests: random weights, a float32 matrix to pack, the
// kernel tables this CPU can run, the rows of a packed quantized matrix, every row walk of the
// quantized GEMVs, and a quantized activation row.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "ops/matrix.h"
#include "ops/packed_kernels.h"

namespace ivl::ops {

inline std::vector<float> random_values(size_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

inline Matrix rows_matrix(const std::vector<float>& w, int64_t out, int64_t in) {
  Matrix m;
  m.dtype = DType::kF32;
  m.in = in;
  m.append(reinterpret_cast<const std::byte*>(w.data()), out);
  return m;
}

// Every kernel table this CPU can run: the portable one, and AVX-512 where available.
inline std::vector<const PackedKernels*> kernel_tables() {
  std::vector<const PackedKernels*> tables = {&portable_kernels()};
  if (avx512_kernels() != nullptr) tables.push_back(avx512_kernels());
  return tables;
}

// The rows of a quantized matrix made by pack_matrix (one segment in the arena).
inline const std::byte* quant_rows(const Matrix& m) {
  EXPECT_EQ(m.segments.size(), 1u);
  return m.segments.at(0).data;
}

// Every way the AVX-512 quantized GEMVs can walk their rows (QuantGemvPolicy), whatever this CPU
// chose: the tests run each, and restore the CPU's choice afterwards (RestoreGemvPolicy).
inline std::vector<QuantGemvPolicy> every_row_walk() {
  return {
      QuantGemvPolicy{},  // the default: four rows per pass up to 1664 bytes, all prefetched
      {.q4_0_prefetch = true,
       .q8_0_max_prefetch_row_bytes = SIZE_MAX,
       .four_row_max_bytes = SIZE_MAX},
      {.q4_0_prefetch = false, .q8_0_max_prefetch_row_bytes = 0, .four_row_max_bytes = 0},
      {.q4_0_prefetch = true, .q8_0_max_prefetch_row_bytes = SIZE_MAX, .four_row_max_bytes = 0},
      // Short rows (K ≤ 2048) with the activations in registers, with and without prefetch.
      {.q4_0_prefetch = false,
       .q8_0_max_prefetch_row_bytes = 0,
       .four_row_max_bytes = 0,
       .short_row_max_supers = QuantGemvPolicy::kMaxShortRowSupers},
      {.short_row_max_supers = QuantGemvPolicy::kMaxShortRowSupers},
      // Long q4_0 rows fetched into L2: as on Zen 4 (short rows in registers, one row at a time),
      // and one row ahead with the four-row passes and every row long.
      {.q4_0_prefetch = false,
       .q8_0_max_prefetch_row_bytes = 0,
       .four_row_max_bytes = 0,
       .short_row_max_supers = QuantGemvPolicy::kMaxShortRowSupers,
       .q4_0_long_row_l2_prefetch_bytes = 16384},
      {.four_row_max_bytes = SIZE_MAX, .q4_0_long_row_l2_prefetch_bytes = 1},
  };
}
struct RestoreGemvPolicy {
  QuantGemvPolicy saved = avx512_quant_gemv_policy();
  ~RestoreGemvPolicy() { avx512_quant_gemv_policy() = saved; }
};

// One activation row as the quantized GEMVs take it (quantize_activation).
struct QuantizedRow {
  explicit QuantizedRow(const std::vector<float>& x)
      : q(x.size()), d(x.size() / 32), s(x.size() / 32) {
    quantize_activation(x.data(), static_cast<int64_t>(x.size()), q.data(), d.data(), s.data());
  }
  std::vector<int8_t> q;
  std::vector<float> d;
  std::vector<int32_t> s;
};

}  // namespace ivl::ops
