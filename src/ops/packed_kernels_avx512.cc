// AVX-512 versions of the packed kernels: vdpbf16ps for bf16 panels, vpdpbusd for the int8 /
// 4-bit rows. Compiled with per-function target attributes so the binary stays portable; the
// table is only handed out when the CPU has every feature used here.
#include <immintrin.h>

#include <algorithm>
#include <bit>
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

// A row's scales sit after its codes, so each row would start with a jump ahead and a cache
// miss the hardware prefetcher did not see coming; fetch the scales of a later row early.
constexpr int64_t kScaleLookahead = 16;

IVL_AVX512 inline void prefetch_scales(const std::byte* scales, int64_t nb, bool valid) {
  if (!valid) return;
  for (int64_t off = 0; off < 2 * nb; off += 64)
    _mm_prefetch(reinterpret_cast<const char*>(scales + off), _MM_HINT_T0);
}

// The products of up to 16 weight-block scales (fp16) with the activation's block scales, for
// blocks c .. c+15 of one row, kept in a register: a round trip through memory (a masked
// 64-byte store read back 8 bytes at a time) defeats store forwarding and stalled every group.
IVL_AVX512 inline __m512 chunk_scales(const std::byte* scales, const float* dx, int64_t c,
                                      int64_t nb) {
  const int64_t left = std::min<int64_t>(16, nb - c);
  const auto mask = static_cast<__mmask16>(left >= 16 ? 0xffff : (1u << left) - 1);
  const __m512 d = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, scales + 2 * c));
  return _mm512_mul_ps(d, _mm512_maskz_loadu_ps(mask, dx + c));
}

// Lanes 2j and 2j+1 of a chunk's scales spread over lanes 0–7 and 8–15: the lanes that
// vpdpbusd fills from bytes 0–31 (block 2j of the chunk) and 32–63 (block 2j+1).
IVL_AVX512 inline __m512 pair_scale(__m512 chunk, int64_t j) {
  const __m512i base = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i idx = _mm512_add_epi32(base, _mm512_set1_epi32(static_cast<int>(2 * j)));
  return _mm512_permutexvar_ps(idx, chunk);
}

IVL_AVX512 void q8_0_gemv(const int8_t* xq, const float* dx, const std::byte* rows, int64_t k,
                          int64_t n, const float* bias, float* y) {
  const int64_t nb = k / kQuantBlock, groups = (k + 63) / 64;
  const size_t row_bytes = quant_row_bytes(MatrixLayout::kQ8_0, k);
  const __mmask64 last = k % 64 == 0 ? ~__mmask64{0} : (__mmask64{1} << 32) - 1;
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t r = 0; r < n; ++r) {
    const std::byte* row = rows + static_cast<size_t>(r) * row_bytes;
    prefetch_scales(row + kScaleLookahead * row_bytes + k, nb, r + kScaleLookahead < n);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (int64_t c = 0; c < nb; c += 16) {
      const __m512 cs = chunk_scales(row + k, dx, c, nb);
      const int64_t g_end = std::min(groups, c / 2 + 8);
      for (int64_t g = c / 2; g < g_end; ++g) {
        const __mmask64 mask = g + 1 == groups ? last : ~__mmask64{0};
        const __m512i w = _mm512_maskz_loadu_epi8(mask, row + 64 * g);
        const __m512i x = _mm512_maskz_loadu_epi8(mask, xq + 64 * g);
        // vpdpbusd multiplies unsigned by signed bytes: move w's sign onto x.
        const __m512i xs = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(w), zero, x);
        const __m512i isum = _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(w), xs);
        const __m512 term = _mm512_cvtepi32_ps(isum);
        if (g % 2 == 0) {
          acc0 = _mm512_fmadd_ps(term, pair_scale(cs, g - c / 2), acc0);
        } else {
          acc1 = _mm512_fmadd_ps(term, pair_scale(cs, g - c / 2), acc1);
        }
      }
    }
    const float v = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    y[r] = bias != nullptr ? v + bias[r] : v;
  }
}

IVL_AVX512 void q4_0_gemv(const int8_t* xq, const float* dx, const int32_t* xsum,
                          const std::byte* rows, int64_t k, int64_t n, const float* bias,
                          float* y) {
  (void)xsum;  // the codes' +8 offset is removed per lane below, from the activation alone
  const int64_t nb = k / kQuantBlock, groups = k / 64;
  const size_t row_bytes = quant_row_bytes(MatrixLayout::kQ4_0, k);
  thread_local std::vector<int32_t> offsets;  // 16 lanes per group
  if (offsets.size() < static_cast<size_t>(16 * groups))
    offsets.resize(static_cast<size_t>(16 * groups));
  const __m512i nibble = _mm512_set1_epi8(0x0f);
  const __m512i zero = _mm512_setzero_si512();
  // Σ code·x − 8·Σ x, lane by lane: the 8·Σ x part depends on the activation only.
  for (int64_t g = 0; g < groups; ++g) {
    _mm512_storeu_si512(
        offsets.data() + 16 * g,
        _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(8), _mm512_loadu_si512(xq + 64 * g)));
  }
  for (int64_t r = 0; r < n; ++r) {
    const std::byte* row = rows + static_cast<size_t>(r) * row_bytes;
    prefetch_scales(row + kScaleLookahead * row_bytes + k / 2, nb, r + kScaleLookahead < n);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (int64_t c = 0; c < nb; c += 16) {
      const __m512 cs = chunk_scales(row + k / 2, dx, c, nb);
      const int64_t g_end = std::min(groups, c / 2 + 8);
      for (int64_t g = c / 2; g < g_end; ++g) {
        const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 32 * g));
        const __m512i codes = _mm512_and_si512(
            _mm512_inserti64x4(_mm512_castsi256_si512(packed), _mm256_srli_epi16(packed, 4), 1),
            nibble);
        const __m512i isum =
            _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, codes, _mm512_loadu_si512(xq + 64 * g)),
                             _mm512_loadu_si512(offsets.data() + 16 * g));
        const __m512 term = _mm512_cvtepi32_ps(isum);
        if (g % 2 == 0) {
          acc0 = _mm512_fmadd_ps(term, pair_scale(cs, g - c / 2), acc0);
        } else {
          acc1 = _mm512_fmadd_ps(term, pair_scale(cs, g - c / 2), acc1);
        }
      }
    }
    const float v = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    y[r] = bias != nullptr ? v + bias[r] : v;
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
  static const PackedKernels k{"avx512", panel_product, q8_0_gemv, q4_0_gemv,
                               portable_kernels().dequantize_panel};
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
