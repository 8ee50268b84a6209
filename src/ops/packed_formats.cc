#include "ops/packed_formats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "ops/linear.h"

namespace ivl::ops {
namespace {

void store_f16(std::byte* dst, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(dst, &h, 2);
}

float load_f16(const std::byte* src) {
  uint16_t h;
  std::memcpy(&h, src, 2);
  return f16_to_f32(h);
}

void quantize_q8_0(const float* w, int64_t k, std::byte* dst) {
  auto* q = reinterpret_cast<int8_t*>(dst);
  std::byte* scales = dst + k;
  const int64_t nb = k / kQuantBlock;
  for (int64_t b = 0; b < nb; ++b) {
    const float* x = w + b * kQuantBlock;
    float amax = 0.f;
    for (int64_t i = 0; i < kQuantBlock; ++i) amax = std::max(amax, std::fabs(x[i]));
    // Quantize with the scale as it will be stored (fp16), so q and d agree.
    const float d = f16_to_f32(f32_to_f16(amax / 127.f));
    const float inv = d > 0.f ? 1.f / d : 0.f;
    for (int64_t i = 0; i < kQuantBlock; ++i) {
      const float v = std::clamp(std::nearbyint(x[i] * inv), -127.f, 127.f);
      q[q8_code_offset(b * kQuantBlock + i, nb)] = static_cast<int8_t>(v);
    }
    store_f16(scales + 2 * b, d);
  }
}

void quantize_q4_0(const float* w, int64_t k, std::byte* dst) {
  auto* codes = reinterpret_cast<uint8_t*>(dst);
  std::fill(codes, codes + k / 2, uint8_t{0});
  std::byte* scales = dst + k / 2;
  const int64_t nb = k / kQuantBlock;
  for (int64_t b = 0; b < nb; ++b) {
    const float* x = w + b * kQuantBlock;
    float wmax = 0.f;
    for (int64_t i = 0; i < kQuantBlock; ++i) {
      if (std::fabs(x[i]) > std::fabs(wmax)) wmax = x[i];
    }
    const float d = f16_to_f32(f32_to_f16(wmax / -8.f));
    const float inv = d != 0.f ? 1.f / d : 0.f;
    for (int64_t i = 0; i < kQuantBlock; ++i) {
      const auto code =
          static_cast<uint8_t>(std::clamp(std::nearbyint(x[i] * inv) + 8.f, 0.f, 15.f));
      bool high = false;
      const int64_t at = q4_code_offset(b * kQuantBlock + i, nb, &high);
      codes[at] = static_cast<uint8_t>(codes[at] | (high ? code << 4 : code));
    }
    store_f16(scales + 2 * b, d);
  }
}

// Panel `p` of a kBF16Panels matrix from float rows (RNE to bf16; rows past `out` are zero).
void pack_panel(const float* rows, int64_t n_rows, int64_t k, uint16_t* panel) {
  std::fill(panel, panel + kPanelRows * k, uint16_t{0});
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t c = 0; c < k; ++c) {
      panel[((c / 2) * kPanelRows + r) * 2 + c % 2] = f32_to_bf16(rows[r * k + c]);
    }
  }
}

}  // namespace

size_t quant_row_bytes(MatrixLayout layout, int64_t in) {
  const auto scales = static_cast<size_t>(in / kQuantBlock) * 2;
  switch (layout) {
    case MatrixLayout::kQ8_0:
      return static_cast<size_t>(in) + scales;
    case MatrixLayout::kQ4_0:
      return static_cast<size_t>(in / 2) + scales;
    default:
      IVL_CHECK_MSG(false, "quant_row_bytes: not a row-quantized layout");
  }
  return 0;
}

size_t packed_bytes(MatrixLayout layout, int64_t out, int64_t in) {
  if (layout == MatrixLayout::kBF16Panels) {
    const int64_t panels = (out + kPanelRows - 1) / kPanelRows;
    return static_cast<size_t>(panels * kPanelRows * in) * 2;
  }
  return quant_row_bytes(layout, in) * static_cast<size_t>(out);
}

bool layout_fits(MatrixLayout layout, int64_t in) {
  switch (layout) {
    case MatrixLayout::kRows:
      return true;
    case MatrixLayout::kBF16Panels:
      return in > 0 && in % 2 == 0;
    case MatrixLayout::kQ8_0:
      return in > 0 && in % kQuantBlock == 0;
    case MatrixLayout::kQ4_0:
      return in > 0 && in % kQuantBlock == 0;
  }
  return false;
}

void quantize_row(const float* w, int64_t k, MatrixLayout layout, std::byte* dst) {
  if (layout == MatrixLayout::kQ8_0) {
    quantize_q8_0(w, k, dst);
  } else {
    IVL_CHECK(layout == MatrixLayout::kQ4_0);
    quantize_q4_0(w, k, dst);
  }
}

MatrixLayout quantized_layout_for(MatrixLayout layout, int64_t in) {
  return is_quantized_rows(layout) && layout_fits(layout, in) ? layout : MatrixLayout::kRows;
}

void quantize_rows(const std::byte* src, DType dtype, int64_t rows, int64_t in, MatrixLayout layout,
                   std::byte* dst, float* scratch) {
  const size_t src_row = static_cast<size_t>(in) * dtype_size(dtype);
  const size_t dst_row = quant_row_bytes(layout, in);
  for (int64_t r = 0; r < rows; ++r) {
    widen_row(src + static_cast<size_t>(r) * src_row, dtype, in, scratch);
    quantize_row(scratch, in, layout, dst + static_cast<size_t>(r) * dst_row);
  }
}

void dequantize_row(const std::byte* src, int64_t k, MatrixLayout layout, float* w) {
  IVL_CHECK(layout == MatrixLayout::kQ8_0 || layout == MatrixLayout::kQ4_0);
  const bool q8 = layout == MatrixLayout::kQ8_0;
  const int64_t nb = k / kQuantBlock;
  const std::byte* scales = src + (q8 ? k : k / 2);
  const auto* codes = reinterpret_cast<const uint8_t*>(src);
  // Walk the codes in storage order (super-block, step, block lane, byte): sequential reads, one
  // scale conversion per block and step, no per-element offset arithmetic — this runs once per
  // panel of every prefill product with quantized weights.
  for (int64_t s = 0; 16 * s < nb; ++s) {
    const int64_t nsb = std::min<int64_t>(16, nb - 16 * s);
    for (int64_t j = 0; j < 8; ++j) {
      for (int64_t l = 0; l < nsb; ++l) {
        const int64_t block = 16 * s + l, i0 = 512 * s + 32 * l + 4 * j;
        const float d = load_f16(scales + 2 * block);
        for (int64_t e = 0; e < 4; ++e) {
          if (q8) {
            w[i0 + e] = d * static_cast<int8_t>(codes[512 * s + 4 * nsb * j + 4 * l + e]);
          } else {
            const uint8_t byte = codes[256 * s + 4 * nsb * (j / 2) + 4 * l + e];
            const int code = j % 2 == 1 ? byte >> 4 : byte & 0xf;
            w[i0 + e] = d * static_cast<float>(code - 8);
          }
        }
      }
    }
  }
}

Matrix pack_matrix(const Matrix& src, MatrixLayout layout, WeightArena& arena, ThreadPool* pool,
                   const std::function<void(int64_t r0, int64_t r1)>& rows_done) {
  IVL_CHECK(src.layout == MatrixLayout::kRows && layout != MatrixLayout::kRows);
  IVL_CHECK(layout_fits(layout, src.in));
  Matrix m;
  m.dtype = is_quantized_rows(layout) ? DType::kU8 : src.dtype;
  m.out = src.out;
  m.in = src.in;
  m.layout = layout;
  std::byte* dst = arena.allocate(packed_bytes(layout, src.out, src.in));
  if (is_quantized_rows(layout)) {
    m.segments.push_back({dst, src.out});
  } else {
    m.packed = dst;
  }
  const int64_t k = src.in;
  const int64_t units =
      layout == MatrixLayout::kBF16Panels ? (src.out + kPanelRows - 1) / kPanelRows : src.out;
  auto run = [&](int64_t u0, int64_t u1) {
    std::vector<float> rows(static_cast<size_t>(kPanelRows * k));
    for (int64_t u = u0; u < u1; ++u) {
      if (layout == MatrixLayout::kBF16Panels) {
        const int64_t r0 = u * kPanelRows, n = std::min(kPanelRows, src.out - r0);
        for (int64_t r = 0; r < n; ++r) {
          widen_row(src.row(r0 + r), src.dtype, k, rows.data() + r * k);
        }
        pack_panel(rows.data(), n, k, reinterpret_cast<uint16_t*>(dst) + u * kPanelRows * k);
      } else {
        quantize_rows(src.row(u), src.dtype, 1, k, layout,
                      dst + static_cast<size_t>(u) * quant_row_bytes(layout, k), rows.data());
      }
    }
  };
  // Rows per unit (a panel of 32 rows, or one quantized row) and units per block.
  const int64_t unit_rows = layout == MatrixLayout::kBF16Panels ? kPanelRows : 1;
  const auto unit_bytes = static_cast<size_t>(unit_rows * k) * dtype_size(src.dtype);
  const int64_t block_units =
      std::max<int64_t>(1, static_cast<int64_t>(kPackBlockBytes / unit_bytes));
  for (int64_t b0 = 0; b0 < units; b0 += block_units) {
    const int64_t b1 = std::min(units, b0 + block_units);
    if (pool != nullptr) {
      pool->parallel_for(b1 - b0, [&](int64_t u0, int64_t u1) { run(b0 + u0, b0 + u1); });
    } else {
      run(b0, b1);
    }
    if (rows_done) rows_done(b0 * unit_rows, std::min(src.out, b1 * unit_rows));
  }
  return m;
}

}  // namespace ivl::ops
