// Pillow's resampling coefficients and the scalar (oracle) passes. Each line of arithmetic
// below follows Resample.c's order of operations, because the float rounding of those
// expressions decides the 22-bit integer weights.
#include <cmath>

#include "vision/pil_resample.h"

namespace ivl::vision::detail {
namespace {

// Keys cubic convolution with a = -0.5 (Pillow bicubic_filter), in double.
double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

inline uint8_t clip8(uint32_t acc) {
  int32_t v = static_cast<int32_t>(acc) >> kPrecisionBits;  // arithmetic shift, as Pillow
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

}  // namespace

ResampleCoeffs compute_bicubic_coeffs(int in_size, int out_size) {
  constexpr double kSupport = 2.0;  // bicubic filter support
  ResampleCoeffs c;
  c.in_size = in_size;
  c.out_size = out_size;
  // Pillow passes the box as floats (0, in_size); (double)(in1 - in0) / outSize.
  const double scale = static_cast<double>(static_cast<float>(in_size) - 0.0f) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = kSupport * filterscale;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = 0.0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);  // truncation toward zero, as C
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      double w = bicubic_filter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
    int32_t* out = &c.weights[static_cast<size_t>(xx) * c.ksize];
    // normalize_coeffs_8bpc: sign-aware rounding to 22-bit fixed point.
    for (int x = 0; x < xmax; ++x) {
      out[x] = k[x] < 0 ? static_cast<int32_t>(-0.5 + k[x] * (1 << kPrecisionBits))
                        : static_cast<int32_t>(0.5 + k[x] * (1 << kPrecisionBits));
    }
  }
  return c;
}

// Accumulation is done in uint32_t: the same bits as Pillow's int arithmetic (which never
// overflows for normalised weights), without undefined behaviour on hostile sizes.
void horizontal_pass_scalar(const PassArgs& a, int row_begin, int row_end) {
  const ResampleCoeffs& c = *a.coeffs;
  for (int yy = row_begin; yy < row_end; ++yy) {
    const uint8_t* in = a.in + static_cast<size_t>(yy + a.in_row_offset) * a.in_stride;
    uint8_t* out = a.out + static_cast<size_t>(yy) * a.out_stride;
    for (int xx = 0; xx < a.out_width; ++xx) {
      const int32_t* k = &c.weights[static_cast<size_t>(xx) * c.ksize];
      const uint8_t* p = in + static_cast<size_t>(c.first[xx]) * 3;
      uint32_t s0 = 1u << (kPrecisionBits - 1), s1 = s0, s2 = s0;
      for (int x = 0; x < c.count[xx]; ++x, p += 3) {
        const auto w = static_cast<uint32_t>(k[x]);
        s0 += p[0] * w;
        s1 += p[1] * w;
        s2 += p[2] * w;
      }
      out[3 * xx] = clip8(s0);
      out[3 * xx + 1] = clip8(s1);
      out[3 * xx + 2] = clip8(s2);
    }
  }
}

void vertical_pass_scalar(const PassArgs& a, int row_begin, int row_end) {
  const ResampleCoeffs& c = *a.coeffs;
  const size_t row_bytes = static_cast<size_t>(a.out_width) * 3;
  for (int yy = row_begin; yy < row_end; ++yy) {
    const int32_t* k = &c.weights[static_cast<size_t>(yy) * c.ksize];
    const uint8_t* in = a.in + static_cast<size_t>(c.first[yy] - a.in_row_offset) * a.in_stride;
    uint8_t* out = a.out + static_cast<size_t>(yy) * a.out_stride;
    for (size_t i = 0; i < row_bytes; ++i) {
      uint32_t s = 1u << (kPrecisionBits - 1);
      const uint8_t* p = in + i;
      for (int y = 0; y < c.count[yy]; ++y, p += a.in_stride) s += *p * static_cast<uint32_t>(k[y]);
      out[i] = clip8(s);
    }
  }
}

}  // namespace ivl::vision::detail
