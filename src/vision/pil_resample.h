// Internals of resize_bicubic (pil_resize.h): Pillow's resampling coefficients and the
// per-pass kernels. Not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ivl::vision::detail {

// Pillow's PRECISION_BITS for 8-bit images: 32 - 8 - 2.
inline constexpr int kPrecisionBits = 22;

// Coefficients of one pass (Pillow precompute_coeffs + normalize_coeffs_8bpc) for
// in_size -> out_size: output coordinate i reads `count[i]` inputs from `first[i]` with
// weights weights[i * ksize .. + count[i]) (the rest of the row is zero).
struct ResampleCoeffs {
  int in_size = 0, out_size = 0, ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weights;
};

ResampleCoeffs compute_bicubic_coeffs(int in_size, int out_size);

// One pass over rows [row_begin, row_end) of the output.
// Horizontal: out row r = resample of in row (r + in_row_offset), out width = c.out_size.
// Vertical: out row r = weighted sum of in rows c.first[r] - in_row_offset + t (the input
// holds only the source rows from in_row_offset on, as Pillow's intermediate does).
// Strides are in bytes; pixels are 3 bytes.
struct PassArgs {
  const uint8_t* in;
  size_t in_stride;
  uint8_t* out;
  size_t out_stride;
  int in_row_offset;
  int out_width;  // pixels per output row
  const ResampleCoeffs* coeffs;
};

void horizontal_pass_scalar(const PassArgs& a, int row_begin, int row_end);
void vertical_pass_scalar(const PassArgs& a, int row_begin, int row_end);

// AVX-512 (F, BW, VL) versions; call only when cpu_has_avx512() is true. The horizontal kernel
// needs the expanded coefficient table made by expand_coeffs_avx512.
struct ExpandedCoeffs {
  int vectors = 0;                   // 16-lane vectors per output pixel (5 taps each)
  std::vector<int32_t> lanes;        // [out_size][vectors][16]
  std::vector<uint16_t> load_masks;  // [out_size][vectors]: bytes of each load that are taps
};
ExpandedCoeffs expand_coeffs_avx512(const ResampleCoeffs& c);
bool cpu_has_avx512();
void horizontal_pass_avx512(const PassArgs& a, const ExpandedCoeffs& e, int row_begin, int row_end);
void vertical_pass_avx512(const PassArgs& a, int row_begin, int row_end);

}  // namespace ivl::vision::detail
