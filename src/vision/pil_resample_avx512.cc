// AVX-512 passes of Pillow's bicubic resize. Same integer arithmetic as the scalar oracle
// (32-bit products and sums, wrap-around identical), so the bytes are identical; only the
// order of additions differs, which integer addition does not care about.
//
// The functions carry target attributes instead of compiling the file with -mavx512*, so no
// AVX-512 instruction can leak into code shared with other translation units (inline
// functions from headers); they are only called after cpu_has_avx512() said yes.
#include <immintrin.h>

// GCC 12's AVX-512 headers build "undefined" vectors as `__m512i __Y = __Y;`, which
// -Wmaybe-uninitialized reports at every inlined use (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "vision/pil_resample.h"

namespace ivl::vision::detail {

#define IVL_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl");
}

// One output pixel reads `count` source pixels = 3 * count bytes. A 16-byte load widened to
// 16 int32 lanes covers 5 pixels (15 lanes; lane 15 gets weight 0), so pixel xx needs
// ceil(max count / 5) vectors; weights are laid out per lane and loads are masked to the
// pixel's own bytes (no read past the end of a row, and so of the buffer).
ExpandedCoeffs expand_coeffs_avx512(const ResampleCoeffs& c) {
  ExpandedCoeffs e;
  int max_count = 0;
  for (int n : c.count) max_count = n > max_count ? n : max_count;
  e.vectors = (max_count + 4) / 5;
  if (e.vectors == 0) e.vectors = 1;
  e.lanes.assign(static_cast<size_t>(c.out_size) * e.vectors * 16, 0);
  e.load_masks.assign(static_cast<size_t>(c.out_size) * e.vectors, 0);
  for (int xx = 0; xx < c.out_size; ++xx) {
    const int32_t* k = &c.weights[static_cast<size_t>(xx) * c.ksize];
    for (int v = 0; v < e.vectors; ++v) {
      int32_t* lanes = &e.lanes[(static_cast<size_t>(xx) * e.vectors + v) * 16];
      uint16_t mask = 0;
      for (int lane = 0; lane < 15; ++lane) {
        int tap = 5 * v + lane / 3;
        if (tap < c.count[xx]) {
          lanes[lane] = k[tap];
          mask = static_cast<uint16_t>(mask | (1u << lane));
        }
      }
      e.load_masks[static_cast<size_t>(xx) * e.vectors + v] = mask;
    }
  }
  return e;
}

IVL_AVX512 void horizontal_pass_avx512(const PassArgs& a, const ExpandedCoeffs& e, int row_begin,
                                       int row_end) {
  const ResampleCoeffs& c = *a.coeffs;
  const __m512i zero = _mm512_setzero_si512();
  const __m512i round = _mm512_set1_epi32(1 << (kPrecisionBits - 1));
  for (int yy = row_begin; yy < row_end; ++yy) {
    const uint8_t* in = a.in + static_cast<size_t>(yy + a.in_row_offset) * a.in_stride;
    uint8_t* out = a.out + static_cast<size_t>(yy) * a.out_stride;
    const int32_t* lanes = e.lanes.data();
    const uint16_t* masks = e.load_masks.data();
    for (int xx = 0; xx < a.out_width; ++xx) {
      const uint8_t* p = in + static_cast<size_t>(c.first[xx]) * 3;
      __m512i acc = zero;
      for (int v = 0; v < e.vectors; ++v, p += 15, lanes += 16) {
        __m128i bytes = _mm_maskz_loadu_epi8(masks[v], p);
        __m512i px = _mm512_cvtepu8_epi32(bytes);
        acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(px, _mm512_loadu_si512(lanes)));
      }
      masks += e.vectors;
      // Sum the five pixels' lanes per channel: lanes c, c+3, c+6, c+9, c+12 -> lane c.
      __m512i t = _mm512_add_epi32(acc, _mm512_alignr_epi32(zero, acc, 3));
      t = _mm512_add_epi32(t, _mm512_alignr_epi32(zero, t, 6));
      t = _mm512_add_epi32(t, _mm512_alignr_epi32(zero, acc, 12));
      t = _mm512_add_epi32(t, round);
      t = _mm512_max_epi32(_mm512_srai_epi32(t, kPrecisionBits), zero);
      _mm_mask_storeu_epi8(out + 3 * xx, 0x7, _mm512_cvtusepi32_epi8(t));
    }
  }
}

// Shift, clamp to 0..255 and store 16 bytes.
IVL_AVX512 static inline void store16(uint8_t* dst, __m512i s) {
  s = _mm512_max_epi32(_mm512_srai_epi32(s, kPrecisionBits), _mm512_setzero_si512());
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_cvtusepi32_epi8(s));
}

IVL_AVX512 void vertical_pass_avx512(const PassArgs& a, int row_begin, int row_end) {
  const ResampleCoeffs& c = *a.coeffs;
  const size_t row_bytes = static_cast<size_t>(a.out_width) * 3;
  const __m512i zero = _mm512_setzero_si512();
  const __m512i round = _mm512_set1_epi32(1 << (kPrecisionBits - 1));
  for (int yy = row_begin; yy < row_end; ++yy) {
    const int32_t* k = &c.weights[static_cast<size_t>(yy) * c.ksize];
    const int count = c.count[yy];
    const uint8_t* in = a.in + static_cast<size_t>(c.first[yy] - a.in_row_offset) * a.in_stride;
    uint8_t* out = a.out + static_cast<size_t>(yy) * a.out_stride;
    size_t i = 0;
    // 64 bytes per step in four independent accumulators.
    for (; i + 64 <= row_bytes; i += 64) {
      __m512i s0 = round, s1 = round, s2 = round, s3 = round;
      const uint8_t* p = in + i;
      for (int y = 0; y < count; ++y, p += a.in_stride) {
        const __m512i w = _mm512_set1_epi32(k[y]);
        s0 = _mm512_add_epi32(
            s0, _mm512_mullo_epi32(
                    _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), w));
        s1 = _mm512_add_epi32(
            s1, _mm512_mullo_epi32(
                    _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16))),
                    w));
        s2 = _mm512_add_epi32(
            s2, _mm512_mullo_epi32(
                    _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32))),
                    w));
        s3 = _mm512_add_epi32(
            s3, _mm512_mullo_epi32(
                    _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 48))),
                    w));
      }
      store16(out + i, s0);
      store16(out + i + 16, s1);
      store16(out + i + 32, s2);
      store16(out + i + 48, s3);
    }
    for (; i < row_bytes; i += 16) {
      const size_t n = row_bytes - i < 16 ? row_bytes - i : 16;
      const auto mask = static_cast<__mmask16>((1u << n) - 1);
      __m512i s = round;
      const uint8_t* p = in + i;
      for (int y = 0; y < count; ++y, p += a.in_stride) {
        __m512i px = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, p));
        s = _mm512_add_epi32(s, _mm512_mullo_epi32(px, _mm512_set1_epi32(k[y])));
      }
      s = _mm512_max_epi32(_mm512_srai_epi32(s, kPrecisionBits), zero);
      _mm_mask_storeu_epi8(out + i, mask, _mm512_cvtusepi32_epi8(s));
    }
  }
}

}  // namespace ivl::vision::detail
