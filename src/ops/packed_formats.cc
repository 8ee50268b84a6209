#include "ops/packed_formats.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/half.h"
#include "core/simd_dispatch.h"
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

// A block's 32 codes, computed into a local array by a branch-free loop the compiler vectorises,
// then stored in 8 steps of 4 consecutive bytes (q8_code_offset / q4_code_offset).
//
// Each value is clamped to the code range before it is rounded, which gives the same code as
// rounding first (the range's ends are integers) and keeps |t| < 2^22, where adding and
// subtracting 1.5 · 2^23 rounds to the nearest integer, ties to even, exactly (the sum's unit in
// the last place is 1) — std::nearbyint without its libm call, which was most of the time of
// quantizing a checkpoint at load.
float round_ties_even(float t) {
  return (t + 0x1.8p23f) - 0x1.8p23f;
}

// Whether a block fits (BlockFit), from what its quantizer saw: a NaN, the magnitude of its
// largest weight, the scale as stored. A block that does not fit is stored as zeros (codes and
// scale) by the quantizer, so that the row's bytes are defined though the caller reports it.
BlockFit block_fit(bool has_nan, float largest, float stored_scale) {
  if (has_nan || std::isinf(largest)) return BlockFit::kNotFinite;
  if (std::isinf(stored_scale)) return BlockFit::kScaleOverflow;
  return BlockFit::kFits;
}

IVL_SIMD_CLONES
BlockFit quantize_q8_0(const float* w, int64_t k, std::byte* dst) {
  auto* q = reinterpret_cast<int8_t*>(dst);
  std::byte* scales = dst + k;
  const int64_t nb = k / kQuantBlock;
  BlockFit row_fit = BlockFit::kFits;
  for (int64_t b = 0; b < nb; ++b) {
    const float* x = w + b * kQuantBlock;
    float amax = 0.f;  // NaNs are skipped here (std::max keeps its first argument) ...
    for (int64_t i = 0; i < kQuantBlock; ++i) amax = std::max(amax, std::fabs(x[i]));
    // Quantize with the scale as it will be stored (fp16), so q and d agree.
    float d = f16_to_f32(f32_to_f16(amax / 127.f));
    const float inv = d > 0.f ? 1.f / d : 0.f;
    int8_t codes[kQuantBlock];
    int has_nan = 0;  // ... and found here. The clamp's order turns NaN into -127: no UB below.
    for (int64_t i = 0; i < kQuantBlock; ++i) {
      has_nan |= x[i] != x[i];
      const float t = std::min(127.f, std::max(-127.f, x[i] * inv));
      codes[i] = static_cast<int8_t>(round_ties_even(t));
    }
    if (const BlockFit fit = block_fit(has_nan != 0, amax, d); fit != BlockFit::kFits) {
      std::fill(codes, codes + kQuantBlock, int8_t{0});
      d = 0.f;
      if (row_fit == BlockFit::kFits) row_fit = fit;
    }
    for (int64_t j = 0; j < 8; ++j) {
      std::memcpy(q + q8_code_offset(b * kQuantBlock + 4 * j, nb), codes + 4 * j, 4);
    }
    store_f16(scales + 2 * b, d);
  }
  return row_fit;
}

// As q8_0, with steps 2i and 2i + 1 sharing a group of 4 bytes (low and high nibbles).
IVL_SIMD_CLONES
BlockFit quantize_q4_0(const float* w, int64_t k, std::byte* dst) {
  auto* codes = reinterpret_cast<uint8_t*>(dst);
  std::byte* scales = dst + k / 2;
  const int64_t nb = k / kQuantBlock;
  BlockFit row_fit = BlockFit::kFits;
  for (int64_t b = 0; b < nb; ++b) {
    const float* x = w + b * kQuantBlock;
    float wmax = 0.f;  // NaNs are skipped here (a comparison with NaN is false) ...
    for (int64_t i = 0; i < kQuantBlock; ++i) {
      if (std::fabs(x[i]) > std::fabs(wmax)) wmax = x[i];
    }
    float d = f16_to_f32(f32_to_f16(wmax / -8.f));
    const float inv = d != 0.f ? 1.f / d : 0.f;
    uint8_t code[kQuantBlock];
    int has_nan = 0;  // ... and found here. The clamp's order turns NaN into -8: no UB below.
    for (int64_t i = 0; i < kQuantBlock; ++i) {
      has_nan |= x[i] != x[i];
      const float t = std::min(7.f, std::max(-8.f, x[i] * inv));
      code[i] = static_cast<uint8_t>(static_cast<int32_t>(round_ties_even(t)) + 8);
    }
    if (const BlockFit fit = block_fit(has_nan != 0, wmax, d); fit != BlockFit::kFits) {
      std::fill(code, code + kQuantBlock, uint8_t{8});  // code 8 is the value 0
      d = 0.f;
      if (row_fit == BlockFit::kFits) row_fit = fit;
    }
    for (int64_t i = 0; i < 4; ++i) {
      bool high = false;
      uint8_t* group = codes + q4_code_offset(b * kQuantBlock + 8 * i, nb, &high);
      for (int64_t e = 0; e < 4; ++e) {
        group[e] = static_cast<uint8_t>(code[8 * i + e] | code[8 * i + 4 + e] << 4);
      }
    }
    store_f16(scales + 2 * b, d);
  }
  return row_fit;
}

// Panel `p` of a kBF16Panels matrix from float rows (RNE to bf16; rows past `out` are zero).
void pack_panel(const float* rows, int64_t n_rows, int64_t k, uint16_t* panel) {
  std::fill(panel, panel + kPanelRows * k, uint16_t{0});
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t c = 0; c < k; ++c) {
      panel[panel_word_index(r, c)] = f32_to_bf16(rows[r * k + c]);
    }
  }
}

// The same panel from bf16 rows, without widening: the words are the source's, except that a
// signalling NaN is made quiet, as f32_to_bf16 (bf16_to_f32(h)) does. A column pair of a row is
// one 32-bit word of the source and one of the panel (k is even), copied whole; a row's words go
// to every 32nd word of the panel.
IVL_SIMD_CLONES
void pack_bf16_panel(const std::byte* const* rows, int64_t n_rows, int64_t k, uint16_t* panel) {
  std::fill(panel, panel + kPanelRows * k, uint16_t{0});
  for (int64_t r = 0; r < n_rows; ++r) {
    const std::byte* row = rows[r];
    for (int64_t p = 0; p < k / 2; ++p) {
      uint32_t w;
      std::memcpy(&w, row + 4 * p, 4);
      const uint32_t low_nan = (w & 0x7fffu) > 0x7f80u ? 0x40u : 0u;
      const uint32_t high_nan = ((w >> 16) & 0x7fffu) > 0x7f80u ? 0x400000u : 0u;
      const uint32_t v = w | low_nan | high_nan;
      std::memcpy(panel + 2 * (p * kPanelRows + r), &v, 4);
    }
  }
}

// Where a weight of a kBF16Compact panel lives: column pair p, half h (rows 16·h .. 16·h + 15),
// word j of the kBF16Panels register (row (n % 16)·2 + k % 2).
size_t compact_sign_mantissa_offset(int64_t p, int64_t h, int64_t j) {
  return kCompactTableBytes + kCompactGroupBytes * static_cast<size_t>(p / 2) +
         static_cast<size_t>(64 * (p % 2) + 32 * h + j);
}
size_t compact_code_offset(int64_t p, int64_t j) {
  return kCompactTableBytes + kCompactGroupBytes * static_cast<size_t>(p / 2) + 128 +
         static_cast<size_t>(32 * (p % 2) + j);
}

// The window base: codes 1..15 stand for exponent fields base + 1 .. base + 15. Chosen to hold
// the most nonzero exponent fields of the panel (the highest base on a tie).
int compact_window_base(const uint16_t* panel, int64_t n) {
  // Four histograms, summed after: a panel's exponents cluster, and one histogram's increments of
  // the same count would each wait for the previous one's store.
  std::array<std::array<int32_t, 256>, 4> counts{};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int64_t u = 0; u < 4; ++u) ++counts[static_cast<size_t>(u)][(panel[i + u] >> 7) & 0xff];
  }
  for (; i < n; ++i) ++counts[0][(panel[i] >> 7) & 0xff];
  std::array<int64_t, 257> below{};  // below[e] = number of weights with exponent field < e
  for (size_t e = 1; e < below.size(); ++e) {
    below[e] =
        below[e - 1] + counts[0][e - 1] + counts[1][e - 1] + counts[2][e - 1] + counts[3][e - 1];
  }
  int best_base = 0;
  int64_t best = -1;
  for (int base = 0; base + 15 <= 255; ++base) {
    const int64_t held = below[base + 16] - below[base + 1];
    if (held >= best) {
      best = held;
      best_base = base;
    }
  }
  return best_base;
}

size_t compact_exception_entries_offset(int64_t panels) {
  return (4 * static_cast<size_t>(panels + 1) + 7) / 8 * 8;
}

}  // namespace

IVL_SIMD_CLONES
void compress_panel(const uint16_t* panel, int64_t k, std::byte* dst,
                    std::vector<BF16Exception>* exceptions) {
  const int64_t kp = k / 2;
  const int base = compact_window_base(panel, kPanelRows * k);
  uint16_t table[32] = {};
  for (int c = 1; c < 16; ++c) table[c] = static_cast<uint16_t>((base + c) << 7);
  std::memcpy(dst, table, sizeof table);
  auto* bytes = reinterpret_cast<uint8_t*>(dst);
  std::fill(bytes + kCompactTableBytes, bytes + compact_panel_bytes(k), uint8_t{0});
  // One half column pair (32 words) at a time: its sign·mantissa bytes and code nibbles are each
  // 32 consecutive bytes, filled by a branch-free loop the compiler vectorises; the rare words
  // outside the window are listed by a second, scalar pass over a half that holds any. (That pass
  // states the window rule again: one helper for both made GCC 12 leave the first loop scalar,
  // and BM_PackMatrix bf16_compact went from 24–26 to 33 ms.)
  for (int64_t p = 0; p < kp; ++p) {
    uint8_t* codes = bytes + compact_code_offset(p, 0);
    for (int64_t h = 0; h < 2; ++h) {
      const uint16_t* words = panel + p * 64 + h * 32;
      uint8_t* sign_mantissa = bytes + compact_sign_mantissa_offset(p, h, 0);
      int outside = 0;
      for (int64_t j = 0; j < 32; ++j) {
        const uint16_t w = words[j];
        const int e = (w >> 7) & 0xff;
        const int code = e - base;
        const bool in_window = code >= 1 && code <= 15;
        const bool listed = !in_window && e != 0;  // +0 here, the value in the list
        outside |= listed;
        sign_mantissa[j] =
            listed ? uint8_t{0} : static_cast<uint8_t>(((w >> 8) & 0x80) | (w & 0x7f));
        codes[j] |= static_cast<uint8_t>((in_window ? code : 0) << (4 * h));
      }
      if (outside == 0) continue;
      for (int64_t j = 0; j < 32; ++j) {
        const uint16_t w = words[j];
        const int e = (w >> 7) & 0xff;
        if ((e <= base || e > base + 15) && e != 0) {
          exceptions->push_back({.col = static_cast<uint32_t>(2 * p + j % 2),
                                 .row = static_cast<uint16_t>(16 * h + j / 2),
                                 .bits = w});
        }
      }
    }
  }
}

void expand_compact_panel(const std::byte* src, int64_t k, uint16_t* panel) {
  uint16_t table[32];
  std::memcpy(table, src, sizeof table);
  const auto* bytes = reinterpret_cast<const uint8_t*>(src);
  for (int64_t p = 0; p < k / 2; ++p) {
    for (int64_t h = 0; h < 2; ++h) {
      for (int64_t j = 0; j < 32; ++j) {
        const uint8_t sm = bytes[compact_sign_mantissa_offset(p, h, j)];
        const int code = (bytes[compact_code_offset(p, j)] >> (4 * h)) & 0xf;
        panel[p * 64 + h * 32 + j] =
            static_cast<uint16_t>(((sm & 0x80) << 8) | (sm & 0x7f) | table[code]);
      }
    }
  }
}

void patch_exceptions(CompactExceptionList exceptions, uint16_t* panel) {
  for (const BF16Exception* e = exceptions.begin; e != exceptions.end; ++e) {
    panel[panel_word_index(e->row, e->col)] = e->bits;
  }
}

void add_exception_products(CompactExceptionList exceptions, const uint16_t* a, int64_t lda,
                            int64_t m, float* c, int64_t ldc) {
  for (const BF16Exception* e = exceptions.begin; e != exceptions.end; ++e) {
    const float w = bf16_to_f32(e->bits);
    for (int64_t i = 0; i < m; ++i) c[i * ldc + e->row] += bf16_to_f32(a[i * lda + e->col]) * w;
  }
}

size_t compact_exception_bytes(const Matrix& m) {
  IVL_CHECK(m.layout == MatrixLayout::kBF16Compact && m.exceptions != nullptr);
  const int64_t panels = panel_count(m.out);
  uint32_t total;
  std::memcpy(&total, m.exceptions + 4 * panels, 4);
  return compact_exception_entries_offset(panels) + sizeof(BF16Exception) * total;
}

CompactExceptionList compact_exceptions(const Matrix& m, int64_t panel) {
  const int64_t panels = panel_count(m.out);
  const auto* start = reinterpret_cast<const uint32_t*>(m.exceptions);
  const auto* entries = reinterpret_cast<const BF16Exception*>(
      m.exceptions + compact_exception_entries_offset(panels));
  return {entries + start[panel], entries + start[panel + 1]};
}

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
    return static_cast<size_t>(panel_count(out) * kPanelRows * in) * 2;
  }
  if (layout == MatrixLayout::kBF16Compact) {
    return static_cast<size_t>(panel_count(out)) * compact_panel_bytes(in);
  }
  return quant_row_bytes(layout, in) * static_cast<size_t>(out);
}

bool layout_fits(MatrixLayout layout, int64_t in) {
  switch (layout) {
    case MatrixLayout::kRows:
      return true;
    case MatrixLayout::kBF16Panels:
    case MatrixLayout::kBF16Compact:
      return in > 0 && in % 2 == 0;
    case MatrixLayout::kQ8_0:
      return in > 0 && in % kQuantBlock == 0;
    case MatrixLayout::kQ4_0:
      return in > 0 && in % kQuantBlock == 0;
  }
  return false;
}

BlockFit quantize_row(const float* w, int64_t k, MatrixLayout layout, std::byte* dst) {
  if (layout == MatrixLayout::kQ8_0) return quantize_q8_0(w, k, dst);
  IVL_CHECK(layout == MatrixLayout::kQ4_0);
  return quantize_q4_0(w, k, dst);
}

Status unquantizable(const std::string& where, BlockFit fit, MatrixLayout layout) {
  IVL_CHECK(fit != BlockFit::kFits && is_quantized_rows(layout));
  const bool q8 = layout == MatrixLayout::kQ8_0;
  const std::string format = q8 ? "q8_0" : "q4_0";
  if (fit == BlockFit::kNotFinite) {
    return Status::corrupt(where + " holds a NaN or infinite weight, which " + format +
                           " cannot store (trained weights have none: the file looks damaged; "
                           "copy or download it again)");
  }
  return Status::unsupported(where + " holds weights too large for " + format +
                             ": a block's fp16 scale (max |w| / " + (q8 ? "127" : "8") +
                             ") would exceed 65504, i.e. |w| beyond about " +
                             (q8 ? "8.3e6" : "5.2e5"));
}

MatrixLayout quantized_layout_for(MatrixLayout layout, int64_t in) {
  return is_quantized_rows(layout) && layout_fits(layout, in) ? layout : MatrixLayout::kRows;
}

UnfitRow quantize_rows(const std::byte* src, DType dtype, int64_t rows, int64_t in,
                       MatrixLayout layout, std::byte* dst, float* scratch) {
  const size_t src_row = static_cast<size_t>(in) * dtype_size(dtype);
  const size_t dst_row = quant_row_bytes(layout, in);
  for (int64_t r = 0; r < rows; ++r) {
    widen_row(src + static_cast<size_t>(r) * src_row, dtype, in, scratch);
    const BlockFit fit = quantize_row(scratch, in, layout, dst + static_cast<size_t>(r) * dst_row);
    if (fit != BlockFit::kFits) return {.row = r, .fit = fit};
  }
  return {};
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

Result<Matrix> pack_matrix(const Matrix& src, MatrixLayout layout, WeightArena& arena,
                           ThreadPool* pool,
                           const std::function<void(int64_t r0, int64_t r1)>& rows_done,
                           const std::function<std::string(int64_t row)>& row_name) {
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
  const bool panels = is_bf16_panels(layout);
  const int64_t units = panels ? panel_count(src.out) : src.out;
  // kBF16Compact: each panel's exceptions, gathered into one list once all are packed.
  std::vector<std::vector<BF16Exception>> exceptions(
      layout == MatrixLayout::kBF16Compact ? static_cast<size_t>(units) : 0);
  // Rows per unit (a panel of 32 rows, or one quantized row), and where unit u's output starts.
  const int64_t unit_rows = panels ? kPanelRows : 1;
  auto unit_out = [&](int64_t u) { return dst + packed_bytes(layout, u * unit_rows, k); };
  // bf16 rows go into panels as they are; other sources are widened to float rows first.
  const bool widen = !(panels && src.dtype == DType::kBF16);
  FirstUnfitRow unfit;  // quantized layouts only
  auto run = [&](int64_t u0, int64_t u1) {
    WeightArena::prefault(unit_out(u0), static_cast<size_t>(unit_out(u1) - unit_out(u0)));
    std::vector<float> rows(widen ? static_cast<size_t>(unit_rows * k) : 0);
    std::vector<uint16_t> panel(layout == MatrixLayout::kBF16Compact ? kPanelRows * k : 0);
    for (int64_t u = u0; u < u1; ++u) {
      if (panels) {
        const int64_t r0 = u * kPanelRows, n = std::min(kPanelRows, src.out - r0);
        uint16_t* out = layout == MatrixLayout::kBF16Panels
                            ? reinterpret_cast<uint16_t*>(unit_out(u))
                            : panel.data();
        if (!widen) {
          const std::byte* row_at[kPanelRows];
          for (int64_t r = 0; r < n; ++r) row_at[r] = src.row(r0 + r);
          pack_bf16_panel(row_at, n, k, out);
        } else {
          for (int64_t r = 0; r < n; ++r) {
            widen_row(src.row(r0 + r), src.dtype, k, rows.data() + r * k);
          }
          pack_panel(rows.data(), n, k, out);
        }
        if (layout == MatrixLayout::kBF16Compact) {
          compress_panel(panel.data(), k, unit_out(u), &exceptions[static_cast<size_t>(u)]);
        }
      } else {
        const UnfitRow row =
            quantize_rows(src.row(u), src.dtype, 1, k, layout, unit_out(u), rows.data());
        if (row.any()) {
          unfit.offer({.row = u, .fit = row.fit});
          return;  // this thread's later rows could only be higher
        }
      }
    }
  };
  // Units per block.
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
    if (const UnfitRow first = unfit.get(); first.any()) {
      return unquantizable(row_name ? row_name(first.row) : "row " + std::to_string(first.row),
                           first.fit, layout);
    }
    if (rows_done) rows_done(b0 * unit_rows, std::min(src.out, b1 * unit_rows));
  }
  if (layout == MatrixLayout::kBF16Compact) {
    size_t total = 0;
    for (const auto& e : exceptions) total += e.size();
    IVL_CHECK_MSG(total <= UINT32_MAX, "pack_matrix: too many bf16 exceptions");
    const size_t entries_at = compact_exception_entries_offset(units);
    std::byte* list = arena.allocate(entries_at + sizeof(BF16Exception) * total);
    uint32_t start = 0;  // start[u], then start[units] = total
    for (int64_t u = 0; u < units; ++u) {
      const auto& e = exceptions[static_cast<size_t>(u)];
      std::memcpy(list + 4 * u, &start, 4);
      if (!e.empty()) {
        std::memcpy(list + entries_at + sizeof(BF16Exception) * start, e.data(),
                    sizeof(BF16Exception) * e.size());
      }
      start += static_cast<uint32_t>(e.size());
    }
    std::memcpy(list + 4 * units, &start, 4);
    m.exceptions = list;
  }
  return m;
}

}  // namespace ivl::ops
