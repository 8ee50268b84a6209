// AVX-512 versions of the packed kernels: vdpbf16ps for bf16 panels, vpdpbusd for the int8 /
// 4-bit rows. Compiled with per-function target attributes so the binary stays portable; the
// table is only handed out when the CPU has every feature used here.
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ops/packed_formats.h"
#include "ops/packed_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)

#define IVL_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vnni,f16c,fma")))

namespace ivl::ops {
namespace {

IVL_AVX512 inline __m512bh bcast_pair(const uint16_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return std::bit_cast<__m512bh>(_mm512_set1_epi32(v));
}

IVL_AVX512 inline __m512bh load_bh(const uint16_t* p) {
  return std::bit_cast<__m512bh>(_mm512_loadu_si512(p));
}

IVL_AVX512 inline void store_row(float* c, __m512 v0, __m512 v1, const float* bias, __mmask16 m0,
                                 __mmask16 m1) {
  if (bias != nullptr) {
    v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, bias));
    v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, bias + 16));
  }
  _mm512_mask_storeu_ps(c, m0, v0);
  _mm512_mask_storeu_ps(c + 16, m1, v1);
}

// MR rows of a against one panel: 2·MR accumulators (16 output rows each), the panel's two
// zmm per column pair loaded once and used MR times.
template <int MR>
IVL_AVX512 void tile(const uint16_t* a, int64_t lda, const uint16_t* panel, int64_t kp,
                     const float* bias, float* c, int64_t ldc, __mmask16 m0, __mmask16 m1) {
  __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc0[r] = acc1[r] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kp; ++p) {
    const __m512bh b0 = load_bh(panel + p * 64), b1 = load_bh(panel + p * 64 + 32);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512bh av = bcast_pair(a + r * lda + 2 * p);
      acc0[r] = _mm512_dpbf16_ps(acc0[r], av, b0);
      acc1[r] = _mm512_dpbf16_ps(acc1[r], av, b1);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) store_row(c + r * ldc, acc0[r], acc1[r], bias, m0, m1);
}

// One row against one panel (decode): four column pairs in flight so the vdpbf16ps latency is
// hidden, one sequential read of the panel.
IVL_AVX512 void row_panel(const uint16_t* a, const uint16_t* panel, int64_t kp, const float* bias,
                          float* c, __mmask16 m0, __mmask16 m1) {
  __m512 acc[4][2];
  for (auto& u : acc) u[0] = u[1] = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + 4 <= kp; p += 4) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      const __m512bh av = bcast_pair(a + 2 * (p + u));
      acc[u][0] = _mm512_dpbf16_ps(acc[u][0], av, load_bh(panel + (p + u) * 64));
      acc[u][1] = _mm512_dpbf16_ps(acc[u][1], av, load_bh(panel + (p + u) * 64 + 32));
    }
  }
  for (; p < kp; ++p) {
    const __m512bh av = bcast_pair(a + 2 * p);
    acc[0][0] = _mm512_dpbf16_ps(acc[0][0], av, load_bh(panel + p * 64));
    acc[0][1] = _mm512_dpbf16_ps(acc[0][1], av, load_bh(panel + p * 64 + 32));
  }
  const __m512 v0 =
      _mm512_add_ps(_mm512_add_ps(acc[0][0], acc[1][0]), _mm512_add_ps(acc[2][0], acc[3][0]));
  const __m512 v1 =
      _mm512_add_ps(_mm512_add_ps(acc[0][1], acc[1][1]), _mm512_add_ps(acc[2][1], acc[3][1]));
  store_row(c, v0, v1, bias, m0, m1);
}

IVL_AVX512 void panel_product(const uint16_t* a, int64_t lda, int64_t m, const uint16_t* panel,
                              int64_t k, int64_t cols, const float* bias, float* c, int64_t ldc) {
  const int64_t kp = k / 2;
  const auto m0 = static_cast<__mmask16>(cols >= 16 ? 0xffff : (1u << cols) - 1);
  const auto m1 = static_cast<__mmask16>(cols >= 32   ? 0xffff
                                         : cols <= 16 ? 0
                                                      : (1u << (cols - 16)) - 1);
  if (m == 1) {
    row_panel(a, panel, kp, bias, c, m0, m1);
    return;
  }
  constexpr int64_t kMr = 12;  // 24 accumulators + 2 panel registers + 1 broadcast
  int64_t i = 0;
  for (; i + kMr <= m; i += kMr)
    tile<kMr>(a + i * lda, lda, panel, kp, bias, c + i * ldc, ldc, m0, m1);
  const int64_t rest = m - i;
  const uint16_t* ar = a + i * lda;
  float* cr = c + i * ldc;
  switch (rest) {
    case 0:
      break;
    case 1:
      tile<1>(ar, lda, panel, kp, bias, cr, ldc, m0, m1);
      break;
    case 2:
      tile<2>(ar, lda, panel, kp, bias, cr, ldc, m0, m1);
      break;
    case 3:
      tile<3>(ar, lda, panel, kp, bias, cr, ldc, m0, m1);
      break;
    case 4:
      tile<4>(ar, lda, panel, kp, bias, cr, ldc, m0, m1);
      break;
    case 5:
      tile<5>(ar, lda, panel, kp, bias, cr, ldc, m0, m1);
      break;
    case 6:
      tile<6>(ar, lda, panel, kp, bias, cr, ldc, m0, m1);
      break;
    case 7:
      tile<7>(ar, lda, panel, kp, bias, cr, ldc, m0, m1);
      break;
    case 8:
      tile<8>(ar, lda, panel, kp, bias, cr, ldc, m0, m1);
      break;
    case 9:
      tile<9>(ar, lda, panel, kp, bias, cr, ldc, m0, m1);
      break;
    case 10:
      tile<10>(ar, lda, panel, kp, bias, cr, ldc, m0, m1);
      break;
    default:
      tile<11>(ar, lda, panel, kp, bias, cr, ldc, m0, m1);
      break;
  }
}

// A row's scales sit after its codes; fetch those of a later row early so the per-super-block
// scale load does not wait on memory.
constexpr int64_t kScaleLookahead = 8;

IVL_AVX512 inline void prefetch_scales(const std::byte* scales, int64_t nb, bool valid) {
  if (!valid) return;
  const auto first = reinterpret_cast<uintptr_t>(scales) & ~uintptr_t{63};
  const auto last = reinterpret_cast<uintptr_t>(scales + 2 * nb - 1);
  for (uintptr_t line = first; line <= last; line += 64)
    _mm_prefetch(reinterpret_cast<const char*>(line), _MM_HINT_T0);
}

// Block scales × activation scales of super-block s (blocks 16s .. 16s+nsb−1), one per lane.
IVL_AVX512 inline __m512 superblock_scales(const std::byte* scales, const float* dx, int64_t s,
                                           int64_t nsb) {
  if (nsb == 16) {
    const __m512 d =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + 32 * s)));
    return _mm512_mul_ps(d, _mm512_loadu_ps(dx + 16 * s));
  }
  const auto mask = static_cast<__mmask16>((1u << nsb) - 1);
  const __m512 d = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, scales + 32 * s));
  return _mm512_mul_ps(d, _mm512_maskz_loadu_ps(mask, dx + 16 * s));
}

// The activation codes in the weights' interleaved order (ops/packed_formats.h), so one load
// of x pairs with one load of codes. Per call, per thread; grown once.
const int8_t* interleave_activation(const int8_t* xq, int64_t k) {
  thread_local std::vector<int8_t> xi;
  if (xi.size() < static_cast<size_t>(k)) xi.resize(static_cast<size_t>(k));
  const int64_t nb = k / kQuantBlock;
  for (int64_t s = 0; s * 16 < nb; ++s) {  // 4-byte runs, as q8_code_offset places them
    const int64_t nsb = std::min<int64_t>(16, nb - 16 * s);
    for (int64_t j = 0; j < 8; ++j) {
      for (int64_t l = 0; l < nsb; ++l) {
        std::memcpy(xi.data() + 512 * s + 4 * nsb * j + 4 * l, xq + 512 * s + 32 * l + 4 * j, 4);
      }
    }
  }
  return xi.data();
}

IVL_AVX512 inline __mmask64 step_mask(int64_t nsb) {
  return nsb == 16 ? ~__mmask64{0} : (__mmask64{1} << (4 * nsb)) - 1;
}

// 64 code bytes of a step; a full super-block (all but at most the last of a row) takes a plain
// load, which is cheaper than a masked one.
template <bool kFull>
IVL_AVX512 inline __m512i load_step(const void* p, __mmask64 mask) {
  if constexpr (kFull) {
    return _mm512_loadu_si512(p);
  } else {
    return _mm512_maskz_loadu_epi8(mask, p);
  }
}

// Σ over one q8_0 super-block: per lane (block), the int32 dot product of codes and activation.
template <bool kFull>
IVL_AVX512 inline __m512i q8_superblock(const std::byte* w_at, const int8_t* x_at, int64_t step,
                                        __mmask64 mask) {
  const __m512i zero = _mm512_setzero_si512();
  __m512i isum0 = zero, isum1 = zero;  // two chains over the 8 steps
  for (int64_t j = 0; j < 8; j += 2) {
    const __m512i w0 = load_step<kFull>(w_at + j * step, mask);
    const __m512i x0 = load_step<kFull>(x_at + j * step, mask);
    const __m512i w1 = load_step<kFull>(w_at + (j + 1) * step, mask);
    const __m512i x1 = load_step<kFull>(x_at + (j + 1) * step, mask);
    // vpdpbusd multiplies unsigned by signed bytes: move w's sign onto x.
    isum0 = _mm512_dpbusd_epi32(isum0, _mm512_abs_epi8(w0),
                                _mm512_mask_sub_epi8(x0, _mm512_movepi8_mask(w0), zero, x0));
    isum1 = _mm512_dpbusd_epi32(isum1, _mm512_abs_epi8(w1),
                                _mm512_mask_sub_epi8(x1, _mm512_movepi8_mask(w1), zero, x1));
  }
  return _mm512_add_epi32(isum0, isum1);
}

// The same for a q4_0 super-block (Σ code·x, before the −8 offset).
template <bool kFull>
IVL_AVX512 inline __m512i q4_superblock(const std::byte* w_at, const int8_t* x_at, int64_t step,
                                        __mmask64 mask) {
  const __m512i nibble = _mm512_set1_epi8(0x0f);
  __m512i isum0 = _mm512_setzero_si512(), isum1 = _mm512_setzero_si512();
  for (int64_t p = 0; p < 4; ++p) {  // one load: steps 2p (low nibbles) and 2p+1 (high)
    const __m512i packed = load_step<kFull>(w_at + p * step, mask);
    const __m512i lo = _mm512_and_si512(packed, nibble);
    const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble);
    isum0 = _mm512_dpbusd_epi32(isum0, lo, load_step<kFull>(x_at + 2 * p * step, mask));
    isum1 = _mm512_dpbusd_epi32(isum1, hi, load_step<kFull>(x_at + (2 * p + 1) * step, mask));
  }
  return _mm512_add_epi32(isum0, isum1);
}

IVL_AVX512 void q8_0_gemv(const int8_t* xq, const float* dx, const std::byte* rows, int64_t k,
                          int64_t n, const float* bias, float* y) {
  const int64_t nb = k / kQuantBlock, supers = (nb + 15) / 16;
  const size_t row_bytes = quant_row_bytes(MatrixLayout::kQ8_0, k);
  const int8_t* xi = interleave_activation(xq, k);
  for (int64_t r = 0; r < n; ++r) {
    const std::byte* row = rows + static_cast<size_t>(r) * row_bytes;
    prefetch_scales(row + kScaleLookahead * row_bytes + k, nb, r + kScaleLookahead < n);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t s = 0; s < supers; ++s) {
      const int64_t nsb = std::min<int64_t>(16, nb - 16 * s), step = 4 * nsb;
      const __mmask64 mask = step_mask(nsb);
      const std::byte* w_at = row + 512 * s;
      const int8_t* x_at = xi + 512 * s;
      const __m512i isum = nsb == 16 ? q8_superblock<true>(w_at, x_at, step, mask)
                                     : q8_superblock<false>(w_at, x_at, step, mask);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), superblock_scales(row + k, dx, s, nsb), acc);
    }
    const float v = _mm512_reduce_add_ps(acc);
    y[r] = bias != nullptr ? v + bias[r] : v;
  }
}

IVL_AVX512 void q4_0_gemv(const int8_t* xq, const float* dx, const int32_t* xsum,
                          const std::byte* rows, int64_t k, int64_t n, const float* bias,
                          float* y) {
  const int64_t nb = k / kQuantBlock, supers = (nb + 15) / 16;
  const size_t row_bytes = quant_row_bytes(MatrixLayout::kQ4_0, k);
  const int8_t* xi = interleave_activation(xq, k);
  for (int64_t r = 0; r < n; ++r) {
    const std::byte* row = rows + static_cast<size_t>(r) * row_bytes;
    prefetch_scales(row + kScaleLookahead * row_bytes + k / 2, nb, r + kScaleLookahead < n);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t s = 0; s < supers; ++s) {
      const int64_t nsb = std::min<int64_t>(16, nb - 16 * s), step = 4 * nsb;
      const __mmask64 mask = step_mask(nsb);
      const std::byte* w_at = row + 256 * s;
      const int8_t* x_at = xi + 512 * s;
      const __m512i codes_x = nsb == 16 ? q4_superblock<true>(w_at, x_at, step, mask)
                                        : q4_superblock<false>(w_at, x_at, step, mask);
      // Σ (code − 8)·x = Σ code·x − 8·Σ x, per block (lane).
      const __m512i offset = _mm512_slli_epi32(
          _mm512_maskz_loadu_epi32(static_cast<__mmask16>((1u << nsb) - 1), xsum + 16 * s), 3);
      const __m512i isum = _mm512_sub_epi32(codes_x, offset);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), superblock_scales(row + k / 2, dx, s, nsb),
                            acc);
    }
    const float v = _mm512_reduce_add_ps(acc);
    y[r] = bias != nullptr ? v + bias[r] : v;
  }
}

// e^x for x ≤ 0, 16 lanes: the same range reduction and degree-6 polynomial as the scalar
// exp_nonpositive in ops/elementwise.cc (relative error < 2e-7), 2^k applied with vscalefps.
IVL_AVX512 inline __m512 exp_nonpositive16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.f));
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.428606765330187e-06f), r);
  __m512 p = _mm512_set1_ps(1.f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  return _mm512_scalef_ps(p, k);
}

IVL_AVX512 float softmax_numerators_bf16(const float* x, int64_t n, float scale, uint16_t* out) {
  const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
  __m512 m0 = neg_inf, m1 = neg_inf;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
    m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + i + 16));
  }
  for (; i < n; i += 16) {
    const auto mask = static_cast<__mmask16>(n - i >= 16 ? 0xffff : (1u << (n - i)) - 1);
    m0 = _mm512_max_ps(m0, _mm512_mask_loadu_ps(neg_inf, mask, x + i));
  }
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(m0, m1)));
  const __m512 sc = _mm512_set1_ps(scale);
  __m512 sum = _mm512_setzero_ps();
  for (i = 0; i + 16 <= n; i += 16) {
    const __m512 e = exp_nonpositive16(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), m), sc));
    sum = _mm512_add_ps(sum, e);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        std::bit_cast<__m256i>(_mm512_cvtneps_pbh(e)));
  }
  if (i < n) {
    const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 e =
        exp_nonpositive16(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + i), m), sc));
    sum = _mm512_mask_add_ps(sum, mask, sum, e);
    _mm256_mask_storeu_epi16(out + i, mask, std::bit_cast<__m256i>(_mm512_cvtneps_pbh(e)));
  }
  return _mm512_reduce_add_ps(sum);
}

// Round to nearest even on the bits, NaNs kept quiet NaNs — exactly ops::to_bf16. (vcvtneps2bf16
// would be one instruction, but it flushes denormal inputs to zero, which torch's cast does not.)
IVL_AVX512 inline __m256i to_bf16_16(__m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i high = _mm512_srli_epi32(bits, 16);
  const __m512i bias =
      _mm512_add_epi32(_mm512_and_si512(high, _mm512_set1_epi32(1)), _mm512_set1_epi32(0x7fff));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(bits, bias), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  r = _mm512_mask_or_epi32(r, nan, high, _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(r);
}

IVL_AVX512 void to_bf16_avx512(const float* x, int64_t n, uint16_t* out) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), to_bf16_16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16(out + i, mask, to_bf16_16(_mm512_maskz_loadu_ps(mask, x + i)));
  }
}

bool cpu_has_everything() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vnni") &&
         __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
}

}  // namespace

const PackedKernels* avx512_kernels() {
  static const PackedKernels k{.name = "avx512",
                               .panel_product = panel_product,
                               .q8_0_gemv = q8_0_gemv,
                               .q4_0_gemv = q4_0_gemv,
                               .dequantize_panel = portable_kernels().dequantize_panel,
                               .softmax_numerators_bf16 = softmax_numerators_bf16,
                               .to_bf16 = to_bf16_avx512};
  static const bool ok = cpu_has_everything();
  return ok ? &k : nullptr;
}

}  // namespace ivl::ops

#else  // not x86-64 GCC/Clang

namespace ivl::ops {
const PackedKernels* avx512_kernels() {
  return nullptr;
}
}  // namespace ivl::ops

#endif
