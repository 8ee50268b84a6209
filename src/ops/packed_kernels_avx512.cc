// AVX-512 versions of the packed kernels: vdpbf16ps for bf16 panels, vpdpbusd for the int8 /
// 4-bit rows. Compiled with per-function target attributes so the binary stays portable; the
// table is only handed out when the CPU has every feature used here.
#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/thread_scratch.h"
#include "ops/packed_formats.h"
#include "ops/packed_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)

#include "ops/avx512_common.h"

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

// Which of a panel's 32 output columns exist (cols ≤ 32), in its two 16-lane halves.
inline __mmask16 first_half_mask(int64_t cols) {
  return static_cast<__mmask16>(cols >= 16 ? 0xffff : (1u << cols) - 1);
}
inline __mmask16 second_half_mask(int64_t cols) {
  return static_cast<__mmask16>(cols >= 32 ? 0xffff : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
}

// kBF16Compact (ops/packed_formats.h): the 64 bf16 weights of column pair q (0 or 1) of a
// group, as kBF16Panels' two registers. A sign·mantissa byte sign-extended to a word has the
// sign in bit 15 and the mantissa in bits 0–6 (mask 0x807f); vpermw looks up the exponent bits
// of each word's code in the panel's table. Measured in L2, one thread, one activation row
// (Zen 4, kernels_bench BM_GemvHot 896x512): ~28 billion weights per second against ~44 for
// plain bf16 panels. Memory delivers far fewer (33 GB/s of 1.5-byte weights is 22 billion per
// second for both cores), so the bytes, not the rebuilding, set decode's pace.
IVL_AVX512 inline void compact_pair(const uint8_t* group, int64_t q, __m512i table, __m512i* w0,
                                    __m512i* w1) {
  const __m512i sign_mantissa = _mm512_loadu_si512(group + 64 * q);
  const __m512i codes = _mm512_cvtepu8_epi16(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + 128 + 32 * q)));
  const __m512i keep = _mm512_set1_epi16(static_cast<int16_t>(0x807f));
  const __m512i e0 =
      _mm512_permutexvar_epi16(_mm512_and_si512(codes, _mm512_set1_epi16(0xf)), table);
  const __m512i e1 = _mm512_permutexvar_epi16(_mm512_srli_epi16(codes, 4), table);
  // (byte & keep) | exponent: ternary-logic 0xEC is (A & C) | B.
  *w0 = _mm512_ternarylogic_epi32(_mm512_cvtepi8_epi16(_mm512_castsi512_si256(sign_mantissa)), e0,
                                  keep, 0xEC);
  *w1 = _mm512_ternarylogic_epi32(_mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(sign_mantissa, 1)),
                                  e1, keep, 0xEC);
}

// The two registers of column pair p of a panel, as vdpbf16ps takes them: loaded from a
// kBF16Panels panel, or rebuilt from a kBF16Compact one (`table`: its first 64 bytes; its
// exceptions are left out).
template <bool kCompact>
IVL_AVX512 inline void pair_weights(const void* panel, __m512i table, int64_t p, __m512bh* w0,
                                    __m512bh* w1) {
  if constexpr (kCompact) {
    __m512i r0, r1;
    compact_pair(
        static_cast<const uint8_t*>(panel) + kCompactTableBytes + kCompactGroupBytes * (p / 2),
        p % 2, table, &r0, &r1);
    *w0 = std::bit_cast<__m512bh>(r0);
    *w1 = std::bit_cast<__m512bh>(r1);
  } else {
    const uint16_t* w = static_cast<const uint16_t*>(panel) + p * 64;
    *w0 = load_bh(w);
    *w1 = load_bh(w + 32);
  }
}

template <bool kCompact>
IVL_AVX512 inline __m512i table_of(const void* panel) {
  return kCompact ? _mm512_loadu_si512(panel) : _mm512_setzero_si512();
}

// MR rows of a against one panel: 2·MR accumulators (16 output rows each), the panel's two
// zmm per column pair loaded (or rebuilt) once and used MR times.
template <int MR, bool kCompact = false>
IVL_AVX512 void tile(const uint16_t* a, int64_t lda, const void* panel, int64_t kp,
                     const float* bias, float* c, int64_t ldc, __mmask16 m0, __mmask16 m1) {
  const __m512i table = table_of<kCompact>(panel);
  __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc0[r] = acc1[r] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kp; ++p) {
    __m512bh b0, b1;
    pair_weights<kCompact>(panel, table, p, &b0, &b1);
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
template <bool kCompact = false>
IVL_AVX512 void row_panel(const uint16_t* a, const void* panel, int64_t kp, const float* bias,
                          float* c, __mmask16 m0, __mmask16 m1) {
  const __m512i table = table_of<kCompact>(panel);
  __m512 acc[4][2];
  for (auto& u : acc) u[0] = u[1] = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + 4 <= kp; p += 4) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      __m512bh w0, w1;
      pair_weights<kCompact>(panel, table, p + u, &w0, &w1);
      const __m512bh av = bcast_pair(a + 2 * (p + u));
      acc[u][0] = _mm512_dpbf16_ps(acc[u][0], av, w0);
      acc[u][1] = _mm512_dpbf16_ps(acc[u][1], av, w1);
    }
  }
  for (; p < kp; ++p) {
    __m512bh w0, w1;
    pair_weights<kCompact>(panel, table, p, &w0, &w1);
    const __m512bh av = bcast_pair(a + 2 * p);
    acc[0][0] = _mm512_dpbf16_ps(acc[0][0], av, w0);
    acc[0][1] = _mm512_dpbf16_ps(acc[0][1], av, w1);
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
  const __mmask16 m0 = first_half_mask(cols), m1 = second_half_mask(cols);
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

// m ≤ MR rows of a against a kBF16Compact panel, the weights rebuilt in registers (without the
// exceptions): one tile of m rows, or row_panel for one row.
template <int MR>
IVL_AVX512 void compact_rows_fused(const uint16_t* a, int64_t lda, int64_t m,
                                   const std::byte* panel, int64_t kp, const float* bias, float* c,
                                   int64_t ldc, __mmask16 m0, __mmask16 m1) {
  if constexpr (MR == 1) {
    row_panel<true>(a, panel, kp, bias, c, m0, m1);
  } else if (m < MR) {
    compact_rows_fused<MR - 1>(a, lda, m, panel, kp, bias, c, ldc, m0, m1);
  } else {
    tile<MR, true>(a, lda, panel, kp, bias, c, ldc, m0, m1);
  }
}

// Up to kCompactFusedRows activation rows, the weights are rebuilt in registers, up to 8 rows
// per pass, and the exceptions' products added after. More rows share one rebuild of the whole
// panel into plain bf16 (64-byte aligned, in L1/L2), exceptions written in, then panel_product's
// register tiles: rebuilding in registers costs about as much as two rows' products per pass,
// so for many rows it is paid once, not per tile. Measured (kernels_bench BM_Gemm/bf16_compact,
// 896 -> 9728, 2 threads, Zen 4, weights in L3; plain panels in brackets): 2 rows by a rebuild
// 0.39–0.41 ms, in registers 0.26–0.27 (0.14–0.18); 6 rows 0.72–1.17 / 0.36–0.40 (0.30–0.53).
constexpr int64_t kCompactFusedRows = 16;

IVL_AVX512 void compact_panel_product(const uint16_t* a, int64_t lda, int64_t m,
                                      const std::byte* panel, CompactExceptionList exceptions,
                                      int64_t k, int64_t cols, const float* bias, float* c,
                                      int64_t ldc) {
  const int64_t kp = k / 2;
  const __mmask16 m0 = first_half_mask(cols), m1 = second_half_mask(cols);
  if (m <= kCompactFusedRows) {
    for (int64_t i = 0; i < m; i += 8) {
      compact_rows_fused<8>(a + i * lda, lda, std::min<int64_t>(8, m - i), panel, kp, bias,
                            c + i * ldc, ldc, m0, m1);
    }
    add_exception_products(exceptions, a, lda, m, c, ldc);
    return;
  }
  // 64-byte aligned: panel_product's zmm loads would otherwise each span two cache lines.
  thread_local ScratchVector<uint16_t> expanded;
  if (expanded.size() < static_cast<size_t>(kPanelRows * k + 32)) {
    expanded.resize(static_cast<size_t>(kPanelRows * k + 32));
  }
  const auto misalign = reinterpret_cast<uintptr_t>(expanded.data()) % 64;
  uint16_t* out = expanded.data() + (misalign == 0 ? 0 : (64 - misalign) / 2);
  const __m512i table = table_of<true>(panel);
  for (int64_t p = 0; p < kp; ++p) {
    __m512bh w0, w1;
    pair_weights<true>(panel, table, p, &w0, &w1);
    _mm512_storeu_si512(out + p * 64, std::bit_cast<__m512i>(w0));
    _mm512_storeu_si512(out + p * 64 + 32, std::bit_cast<__m512i>(w1));
  }
  patch_exceptions(exceptions, out);
  panel_product(a, lda, m, out, k, cols, bias, c, ldc);
}

// The GEMVs fetch whole rows (codes and scales) in software, at least kPrefetchBytes and at least
// two rows ahead. The hardware prefetcher alone left the quantized GEMVs waiting on their first
// load of each row: on a Zen 5 host, q8_0 went from 14 to 30 GB/s per thread (28 to 57 GB/s on
// two), q4_0 from 23 to 25 (kernels_bench BM_Gemv, 2026-12-02). The distance is in bytes because
// the best number of rows depends on the row size: two rows ahead is best for 4864-wide rows
// (2.7 / 5.2 KB in q4_0 / q8_0; 6 or 16 rows were 5–16 % slower), while 896-wide rows (0.5 /
// 0.9 KB) gained from going ~5 KB ahead: same process, 2 threads, weights from DRAM, q4_0
// +3–18 %, q8_0 +2–13 %, 4864-wide rows unchanged (0.96–1.02×).
constexpr size_t kPrefetchBytes = 5120;
constexpr int64_t kMinRowsAhead = 2;

// QuantGemvPolicy's default four_row_max_bytes: rows at most this long (bytes) go through the
// GEMV four at a time, sharing their activation loads and one horizontal reduction. Measured
// against one row at a time (same process, 2 threads, weights from DRAM, Zen 5 host): q4_0 at
// K = 896 / 1024 / 1536 / 2048 1.31–1.36×, K = 3072 1.04×, K = 4864 0.85×; q8_0 at K = 896 /
// 1024 / 1536 1.02–1.16×, K = 2048 0.98×, K = 3072 0.84×. Longer rows keep one row at a time
// (four long rows in flight at once per thread read slower from memory).
static_assert(QuantGemvPolicy{}.four_row_max_bytes == 1664);

// How the quantized GEMVs read their rows on this CPU: which of them issue those prefetches, up
// to which row length they take rows four at a time (the constant above), and whether short rows
// keep the activations in registers (gemv_short_rows). On a Zen 4 host (CPU family 0x19, the
// only family-0x19 parts with AVX-512) prefetches and four-row passes are off: each thread reads
// its rows as one plain sequential stream and leaves it to the hardware prefetcher; rows of at
// most four super-blocks take gemv_short_rows, which reads them in the same order; longer q4_0
// rows are also fetched into L2 ahead (kZen4Q4LongRowL2PrefetchBytes, below). Same process,
// 2 threads, weights from DRAM (kernels_bench BM_Gemv, alternating runs): on 2026-12-03 00:36 UTC
// dropping the prefetches alone gave q4_0 1.24–1.43× at K = 896 and 1.07× at K = 4864, q8_0
// 1.33× at K = 4864; at 06:20 UTC one row at a time gave q8_0 at K = 896 a gain in each of 11
// pairs (gate/up 1.21–2.0×, median 19.3 → 29.0 GB/s; the head 1.02–2.3×, 18.5 → 30.0), q4_0
// 1.03–1.15× (medians), and then leaving out the prefetches too q8_0 gate/up 1.18×, the head
// 1.28×, q/k/v 0.92× (medians of 5 pairs; the four-row passes, whose four interleaved rows the
// hardware prefetcher does not follow, had needed them: 0.70–0.78× without).
// Decode end to end (alternating, 64-token prompt): q8_0 and q4_0 each 1.05× (median of 4 pairs;
// the host's read moved 21–50 GB/s between them). Zen 5, where the prefetches and the four-row
// passes were measured to win, and other CPUs keep both.
// Short rows with the activations in registers (gemv_short_rows) are on for Zen 4 only, where
// they were measured (session of 2026-12-03 08:43 UTC): with the weights in L2 (BM_GemvHot 896x512,
// 1 thread) q4_0 22–26 → 43–48 GB/s, q8_0 41–50 → 63–76 (3 pairs); from DRAM (2 threads, 5 pairs,
// the host's plain read 25–53 GB/s) medians q4_0 head 29.9 → 32.7, q/k/v 25.3 → 30.3, gate/up
// 27.6 → 26.9, q8_0 head 27.7 → 31.0, q/k/v 25.2 → 27.3, gate/up 29.6 → 28.9; software prefetch
// with them lost again (4 pairs: q8_0 gate/up median 34.3 → 25.5). Decode end to end (64-token
// prompt, 3 pairs): q4_0 1.07–1.45×, q8_0 0.98–1.14×. At K = 1536 (InternVL3-2B's LLM; BM_GemvHot
// 1536x256, 4 pairs) q4_0 34.7–38.1 → 47.9–57.7 GB/s, q8_0 63.4–67.4 → 82.1–91.0; at K = 2048
// (2048x192, 4 pairs, four super-blocks with spilled registers against three) only q4_0
// 35.3–39.5 → 41.0–42.3, q8_0 65.5–73.5 → 73.7–80.9, so K = 2048 first kept the one-row walk.
// Measured again on 2026-12-04 (Zen 4 host, alternating binaries, 3 pairs), K = 2048 in
// gemv_short_rows: BM_GemvHot 2048x192, 1 thread, q8_0 74.7–75.0 → 92.4–93.7 GB/s, q4_0
// 39.8–40.0 → 55.0–55.7; from DRAM (BM_Gemv, Qwen3-1.7B's 2048-wide gate/up and q/k/v), 1 thread
// q8_0 20.4–25.7 → 26.5–29.2, q4_0 22.1–26.2 → 29.4–30.8, 2 threads mostly ahead (q4_0 gate/up
// 44.8 / 49.0 / 45.8 → 57.2 / 34.5 / 56.4: one pair behind). InternVL3.5-2B decode (its LLM is
// 2048 wide), 7 alternating pairs: q4_0 median 35.8 → 41.9 tokens/s (ahead in 5 pairs), q8_0
// median 19.9 → 21.8 (ahead in 6). Five super-blocks (K = 2560) would need 50 zmm of operands.
// On Zen 4, long q4_0 rows (K > 2048, past the short-row walk: the down projections) are fetched
// into L2 16 KB ahead. Read as one plain stream they left one thread at 20 GB/s (4864 wide) and
// 13 GB/s (6144 wide) where a plain read gets 30–34, and their compute rate with the weights in L2
// is only 34–39 GB/s per thread, so each wait on memory showed. kernels_bench BM_Gemv, alternating
// binaries, 4 pairs (2026-12-04 21:46 UTC): 4864 wide 1 thread 20.1–20.4 → 25.6–25.8 GB/s, 2
// threads 30.7–35.1 → 31.8–41.9; 6144 wide 1 thread 12.9–13.3 → 23.3–24.5, 2 threads 24.5–25.5
// → 34.0–45.2. Into L1 (prefetcht0, 10 KB ahead) lost (1 thread 19.3 → 15.4), as did
// prefetchnta (16.3) and fetching every second line only (13.0); 8–32 KB ahead measured alike.
// q8_0's long rows, whose compute rate is twice q4_0's, lost with the same prefetch (4864 wide,
// 1 thread 26.3–27.8 → 19.9–20.3, 2 threads 42.2–46.4 → 30.0–36.8) and keep the plain stream.
constexpr size_t kZen4Q4LongRowL2PrefetchBytes = 16384;

QuantGemvPolicy quant_gemv_policy_for_this_cpu() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0, &eax, &ebx, &ecx, &edx) == 0) return {};
  const bool amd = ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163;  // "AuthenticAMD"
  if (!amd || __get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return {};
  const unsigned base = (eax >> 8) & 0xf;
  const unsigned family = base == 0xf ? base + ((eax >> 20) & 0xff) : base;
  if (family == 0x19) {
    return {.q4_0_prefetch = false,
            .q8_0_max_prefetch_row_bytes = 0,
            .four_row_max_bytes = 0,
            .short_row_max_supers = QuantGemvPolicy::kMaxShortRowSupers,
            .q4_0_long_row_l2_prefetch_bytes = kZen4Q4LongRowL2PrefetchBytes};
  }
  return {};
}

const QuantGemvPolicy& gemv_policy() {
  return avx512_quant_gemv_policy();
}

// Where a prefetch puts its line, as __builtin_prefetch's locality: 3 = every level from L1 down
// (prefetcht0), 2 = L2 and below (prefetcht1).
constexpr int kIntoL1 = 3, kIntoL2 = 2;

template <int kLocality>
IVL_AVX512 inline __attribute__((always_inline)) void prefetch_row(const std::byte* row,
                                                                   size_t bytes) {
  const auto first = reinterpret_cast<uintptr_t>(row) & ~uintptr_t{63};
  const auto last = reinterpret_cast<uintptr_t>(row + bytes - 1);
  for (uintptr_t line = first; line <= last; line += 64)
    __builtin_prefetch(reinterpret_cast<const void*>(line), 0, kLocality);
}

// Rows [first, last) of the rows at `rows` (none when first ≥ last). Always inlined: GCC 12
// split this function (partial inlining), judged the split-off part, which only prefetches,
// free of side effects and deleted its calls — the GEMVs then ran 3× slower from memory.
template <int kLocality = kIntoL1>
IVL_AVX512 inline __attribute__((always_inline)) void prefetch_rows(const std::byte* rows,
                                                                    size_t row_bytes, int64_t first,
                                                                    int64_t last) {
  if (first < last) {
    prefetch_row<kLocality>(rows + static_cast<size_t>(first) * row_bytes,
                            static_cast<size_t>(last - first) * row_bytes);
  }
}

// The activation codes in the weights' interleaved order (ops/packed_formats.h), so one load
// of x pairs with one load of codes. Per call, per thread; grown once.
// The buffer is 64-byte aligned, so no activation load of a full super-block splits a cache line.
const int8_t* interleave_activation(const int8_t* xq, int64_t k) {
  thread_local ScratchVector<int8_t> buffer;
  if (buffer.size() < static_cast<size_t>(k + 64)) buffer.resize(static_cast<size_t>(k + 64));
  int8_t* xi = buffer.data() + (-reinterpret_cast<uintptr_t>(buffer.data()) & 63);
  const int64_t nb = k / kQuantBlock;
  for (int64_t s = 0; s * 16 < nb; ++s) {  // 4-byte runs, as q8_code_offset places them
    const int64_t nsb = std::min<int64_t>(16, nb - 16 * s);
    for (int64_t j = 0; j < 8; ++j) {
      for (int64_t l = 0; l < nsb; ++l) {
        std::memcpy(xi + 512 * s + 4 * nsb * j + 4 * l, xq + 512 * s + 32 * l + 4 * j, 4);
      }
    }
  }
  return xi;
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

// The 8 activation steps of a super-block (full: plain loads; the last, partial one: masked, so
// its lanes past the row's blocks are zero).
template <bool kFull>
IVL_AVX512 inline __attribute__((always_inline)) void load_activation_steps(const int8_t* x_at,
                                                                            int64_t step,
                                                                            __mmask64 mask,
                                                                            __m512i* x) {
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) x[j] = load_step<kFull>(x_at + j * step, mask);
}

// Σ over a q4_0 super-block: per lane (block), Σ code·x (before the −8 offset), with the
// super-block's activation steps x[0..7].
template <bool kFull>
IVL_AVX512 inline __attribute__((always_inline)) __m512i q4_superblock(const std::byte* w_at,
                                                                       const __m512i* x,
                                                                       int64_t step,
                                                                       __mmask64 mask) {
  const __m512i nibble = _mm512_set1_epi8(0x0f);
  __m512i isum0 = _mm512_setzero_si512(), isum1 = _mm512_setzero_si512();
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p) {  // one load: steps 2p (low nibbles) and 2p+1 (high)
    const __m512i packed = load_step<kFull>(w_at + p * step, mask);
    const __m512i lo = _mm512_and_si512(packed, nibble);
    const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble);
    isum0 = _mm512_dpbusd_epi32(isum0, lo, x[2 * p]);
    isum1 = _mm512_dpbusd_epi32(isum1, hi, x[2 * p + 1]);
  }
  return _mm512_add_epi32(isum0, isum1);
}

// Σ over one q8_0 super-block: per lane (block), Σ (q + 128)·x. vpdpbusd multiplies unsigned by
// signed bytes, so the codes enter with their sign bit flipped (q ^ 0x80 = q + 128 as an
// unsigned byte) and the activations as they are; the caller subtracts 128·Σx (xsum). One xor
// per step, where moving w's sign onto x took three operations.
template <bool kFull>
IVL_AVX512 inline __attribute__((always_inline)) __m512i q8_superblock(const std::byte* w_at,
                                                                       const __m512i* x,
                                                                       int64_t step,
                                                                       __mmask64 mask) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i isum0 = _mm512_setzero_si512(), isum1 = _mm512_setzero_si512();  // two chains
#pragma GCC unroll 4
  for (int j = 0; j < 8; j += 2) {
    isum0 = _mm512_dpbusd_epi32(
        isum0, _mm512_xor_si512(load_step<kFull>(w_at + j * step, mask), flip), x[j]);
    isum1 = _mm512_dpbusd_epi32(
        isum1, _mm512_xor_si512(load_step<kFull>(w_at + (j + 1) * step, mask), flip), x[j + 1]);
  }
  return _mm512_add_epi32(isum0, isum1);
}

// The per-format parts of the quantized GEMV: the layout, where a row's scales start, the code
// bytes per super-block, the code offset (q8_0's +128 flip, q4_0's +8) as a multiple of Σx, and
// the super-block product.
struct Q8Rows {
  static constexpr MatrixLayout kLayout = MatrixLayout::kQ8_0;
  static bool prefetch(size_t row_bytes) {
    return row_bytes <= gemv_policy().q8_0_max_prefetch_row_bytes;
  }
  static size_t long_row_l2_prefetch_bytes() { return 0; }
  static constexpr int32_t kCodeOffset = 128;
  static constexpr int64_t kSuperBytes = 512;
  static int64_t scales_at(int64_t k) { return k; }
  template <bool kFull>
  IVL_AVX512 static __m512i superblock(const std::byte* w, const __m512i* x, int64_t step,
                                       __mmask64 mask) {
    return q8_superblock<kFull>(w, x, step, mask);
  }
};
struct Q4Rows {
  static constexpr MatrixLayout kLayout = MatrixLayout::kQ4_0;
  static bool prefetch(size_t /*row_bytes*/) { return gemv_policy().q4_0_prefetch; }
  static size_t long_row_l2_prefetch_bytes() {
    return gemv_policy().q4_0_long_row_l2_prefetch_bytes;
  }
  static constexpr int32_t kCodeOffset = 8;
  static constexpr int64_t kSuperBytes = 256;
  static int64_t scales_at(int64_t k) { return k / 2; }
  template <bool kFull>
  IVL_AVX512 static __m512i superblock(const std::byte* w, const __m512i* x, int64_t step,
                                       __mmask64 mask) {
    return q4_superblock<kFull>(w, x, step, mask);
  }
};

// acc + (Σ (code + offset)·x − offset·Σx) · d · dx per lane (block) of one super-block.
// Every walk goes through these, so a row's sum has the same rounding in each.
IVL_AVX512 inline __attribute__((always_inline)) __m512 add_superblock(__m512 acc, __m512i biased,
                                                                       __m512 d, __m512i offsets,
                                                                       __m512 x_scales) {
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(biased, offsets)),
                         _mm512_mul_ps(d, x_scales), acc);
}
IVL_AVX512 inline __attribute__((always_inline)) __m512 add_superblock(__m512 acc, __m512i biased,
                                                                       __m512 d,
                                                                       const int32_t* offsets,
                                                                       const float* x_scales) {
  return add_superblock(acc, biased, d, _mm512_loadu_si512(offsets), _mm512_loadu_ps(x_scales));
}

// What every row of one GEMV call shares: the activations in the weights' code order, the
// per-block offsets (kCodeOffset·Σx) and activation scales laid out per super-block (zero past
// the last block), and the row's shape.
struct GemvContext {
  const int8_t* xi;
  const int32_t* offsets;
  const float* x_scales;
  int64_t full;  // full super-blocks per row
  int64_t tail;  // blocks in the last, partial super-block (0: none)
  size_t row_bytes;
  int64_t scales_at;  // byte offset of a row's scales
};

// The four row sums in one register: one reduction instead of four.
IVL_AVX512 inline __m256 fold_halves(__m512 a) {
  return _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
}
IVL_AVX512 inline __m128 reduce_four(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  const __m256 h01 = _mm256_hadd_ps(fold_halves(a0), fold_halves(a1));
  const __m256 h23 = _mm256_hadd_ps(fold_halves(a2), fold_halves(a3));
  const __m256 h = _mm256_hadd_ps(h01, h23);  // lane i of each half: part of row i's sum
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// A super-block's 16 fp16 block scales at `at`; the last, partial one masked to its blocks
// (the bytes after a row's last scale belong to the next row).
template <bool kFull>
IVL_AVX512 inline __attribute__((always_inline)) __m512 load_block_scales(const std::byte* at,
                                                                          __mmask16 lanes) {
  if constexpr (kFull) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)));
  } else {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes, at));
  }
}

// y[0..3] (+ bias[0..3]) from four rows' per-block partial sums, and y[0] from one row's: the
// same additions in the same order, so a row's result does not depend on whether it fell in a
// four-row group (threads, checkpoint segments and walks split rows differently).
IVL_AVX512 inline __attribute__((always_inline)) void store_four_rows(__m512 a0, __m512 a1,
                                                                      __m512 a2, __m512 a3,
                                                                      const float* bias, float* y) {
  __m128 v = reduce_four(a0, a1, a2, a3);
  if (bias != nullptr) v = _mm_add_ps(v, _mm_loadu_ps(bias));
  _mm_storeu_ps(y, v);
}
IVL_AVX512 inline __attribute__((always_inline)) void store_row(__m512 a, const float* bias,
                                                                float* y) {
  const float v = _mm_cvtss_f32(reduce_four(a, a, a, a));
  y[0] = bias != nullptr ? v + bias[0] : v;
}

// y[i] for the R (1 or 4) rows starting at `row`: full super-blocks in a tight loop whose
// steps are compile-time constants, then the rows' last, partial super-block (if any) with
// masked loads. (One loop handling both kinds of super-block kept its step and masks live in
// registers, and GCC spilled the loop counters to the stack.)
template <class Format, int R>
IVL_AVX512 inline void gemv_rows(const GemvContext& c, const std::byte* row, const float* bias,
                                 float* y) {
  __m512 acc[R];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t s = 0; s < c.full; ++s) {
    __m512i x[8];
    load_activation_steps<true>(c.xi + 512 * s, 64, 0, x);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const std::byte* w = row + i * c.row_bytes;
      const __m512i biased =
          Format::template superblock<true>(w + Format::kSuperBytes * s, x, 64, 0);
      const __m512 d = load_block_scales<true>(w + c.scales_at + 32 * s, 0);
      acc[i] = add_superblock(acc[i], biased, d, c.offsets + 16 * s, c.x_scales + 16 * s);
    }
  }
  if (c.tail > 0) {
    const int64_t s = c.full;
    const __mmask64 mask = step_mask(c.tail);
    const auto lanes = static_cast<__mmask16>((1u << c.tail) - 1);
    __m512i x[8];
    load_activation_steps<false>(c.xi + 512 * s, 4 * c.tail, mask, x);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const std::byte* w = row + i * c.row_bytes;
      const __m512i biased =
          Format::template superblock<false>(w + Format::kSuperBytes * s, x, 4 * c.tail, mask);
      const __m512 d = load_block_scales<false>(w + c.scales_at + 32 * s, lanes);
      acc[i] = add_superblock(acc[i], biased, d, c.offsets + 16 * s, c.x_scales + 16 * s);
    }
  }
  if constexpr (R == 4) {
    store_four_rows(acc[0], acc[1], acc[2], acc[3], bias, y);
  } else {
    static_assert(R == 1);
    store_row(acc[0], bias, y);
  }
}

// Short rows (K ≤ 2048, S ≤ 4 super-blocks): what every row multiplies with — the activation
// steps, per-block offsets and activation scales of each super-block (10 zmm per super-block) —
// is loaded once per call and kept in registers (from S = 3 some of them spill to the stack,
// where they are L1 loads), so a row costs little more than its own loads. Each row is read
// whole, in order (one sequential stream), and four rows share one reduction. Measured on Zen 4
// with the weights in L2 (see quant_gemv_policy_for_this_cpu): ~1.5× (q8_0) and ~1.9× (q4_0) the
// one-row walk at K = 896, 1.3–1.4× at K = 1536, 1.25× / 1.4× at K = 2048.
template <int S>
struct ShortRowOperands {
  __m512i x[S][8];
  __m512i offsets[S];
  __m512 scales[S];
  // The last super-block's code step, code-byte mask and block (scale) mask: partial when K is
  // not a multiple of 512, else a full one (64, all ones).
  int64_t last_step;
  __mmask64 last_mask;
  __mmask16 last_lanes;
};

// One row's 16 per-block partial sums, with gemv_rows' operations in gemv_rows' order.
template <class Format, int S>
IVL_AVX512 inline __attribute__((always_inline)) __m512 short_row_sum(const ShortRowOperands<S>& a,
                                                                      const GemvContext& c,
                                                                      const std::byte* w) {
  __m512 acc = _mm512_setzero_ps();
#pragma GCC unroll 4
  for (int s = 0; s < S; ++s) {
    const std::byte* codes = w + Format::kSuperBytes * s;
    const std::byte* scales = w + c.scales_at + 32 * s;
    __m512i biased;
    __m512 d;
    if (s < S - 1 || c.tail == 0) {
      biased = Format::template superblock<true>(codes, a.x[s], 64, 0);
      d = load_block_scales<true>(scales, 0);
    } else {
      biased = Format::template superblock<false>(codes, a.x[s], a.last_step, a.last_mask);
      d = load_block_scales<false>(scales, a.last_lanes);
    }
    acc = add_superblock(acc, biased, d, a.offsets[s], a.scales[s]);
  }
  return acc;
}

template <class Format, int S>
IVL_AVX512 void gemv_short_rows(const GemvContext& c, const std::byte* rows, int64_t n,
                                int64_t ahead, const float* bias, float* y) {
  ShortRowOperands<S> a;
  a.last_step = c.tail > 0 ? 4 * c.tail : 64;
  a.last_mask = c.tail > 0 ? step_mask(c.tail) : ~__mmask64{0};
  a.last_lanes = static_cast<__mmask16>(c.tail > 0 ? (1u << c.tail) - 1 : 0xffffu);
#pragma GCC unroll 4
  for (int s = 0; s < S; ++s) {
    const bool last = s == S - 1;
    load_activation_steps<false>(c.xi + 512 * s, last ? a.last_step : 64,
                                 last ? a.last_mask : ~__mmask64{0}, a.x[s]);
    a.offsets[s] = _mm512_loadu_si512(c.offsets + 16 * s);
    a.scales[s] = _mm512_loadu_ps(c.x_scales + 16 * s);
  }
  int64_t r = 0;
  for (; r + 4 <= n; r += 4) {
    prefetch_rows(rows, c.row_bytes, r + ahead, std::min(n, r + ahead + 4));
    const std::byte* w = rows + static_cast<size_t>(r) * c.row_bytes;
    // Named, in order: as call arguments the four sums may be evaluated in any order (GCC goes
    // right to left), which reads each group of rows backwards — bit-identical results, but the
    // DRAM stream the hardware prefetcher follows is broken (q4_0 gate/up 34 → 12 GB/s).
    const __m512 a0 = short_row_sum<Format, S>(a, c, w);
    const __m512 a1 = short_row_sum<Format, S>(a, c, w + c.row_bytes);
    const __m512 a2 = short_row_sum<Format, S>(a, c, w + 2 * c.row_bytes);
    const __m512 a3 = short_row_sum<Format, S>(a, c, w + 3 * c.row_bytes);
    store_four_rows(a0, a1, a2, a3, bias != nullptr ? bias + r : nullptr, y + r);
  }
  for (; r < n; ++r) {
    prefetch_rows(rows, c.row_bytes, r + ahead, std::min(n, r + ahead + 1));
    store_row(short_row_sum<Format, S>(a, c, rows + static_cast<size_t>(r) * c.row_bytes),
              bias != nullptr ? bias + r : nullptr, y + r);
  }
}

// Rows the short-row walk does not take: four at a time up to four_row_max_bytes, then one at a
// time, each prefetched `ahead` rows early into kLocality (none when ahead ≥ n).
template <class Format, int kLocality>
IVL_AVX512 void gemv_long_rows(const GemvContext& c, const std::byte* rows, int64_t n,
                               int64_t ahead, const float* bias, float* y) {
  int64_t r = 0;
  if (c.row_bytes <= gemv_policy().four_row_max_bytes) {
    for (; r + 4 <= n; r += 4) {
      prefetch_rows<kLocality>(rows, c.row_bytes, r + ahead, std::min(n, r + ahead + 4));
      gemv_rows<Format, 4>(c, rows + static_cast<size_t>(r) * c.row_bytes,
                           bias != nullptr ? bias + r : nullptr, y + r);
    }
  }
  for (; r < n; ++r) {
    prefetch_rows<kLocality>(rows, c.row_bytes, r + ahead, std::min(n, r + ahead + 1));
    gemv_rows<Format, 1>(c, rows + static_cast<size_t>(r) * c.row_bytes,
                         bias != nullptr ? bias + r : nullptr, y + r);
  }
}

template <class Format>
IVL_AVX512 void quant_gemv(const int8_t* xq, const float* dx, const int32_t* xsum,
                           const std::byte* rows, int64_t k, int64_t n, const float* bias,
                           float* y) {
  const int64_t nb = k / kQuantBlock, supers = (nb + 15) / 16;
  thread_local ScratchVector<int32_t> offsets;
  thread_local ScratchVector<float> x_scales;
  offsets.assign(static_cast<size_t>(16 * supers), 0);
  x_scales.assign(static_cast<size_t>(16 * supers), 0.0f);
  for (int64_t b = 0; b < nb; ++b) {
    offsets[b] = Format::kCodeOffset * xsum[b];
    x_scales[b] = dx[b];
  }
  const GemvContext c{.xi = interleave_activation(xq, k),
                      .offsets = offsets.data(),
                      .x_scales = x_scales.data(),
                      .full = nb / 16,
                      .tail = nb % 16,
                      .row_bytes = quant_row_bytes(Format::kLayout, k),
                      .scales_at = Format::scales_at(k)};
  // No prefetch: rows "ahead" of the end, which prefetch_rows skips.
  const int64_t ahead =
      Format::prefetch(c.row_bytes)
          ? std::max(kMinRowsAhead, static_cast<int64_t>(kPrefetchBytes / c.row_bytes))
          : n;
  if (supers <= gemv_policy().short_row_max_supers) {
    switch (supers) {  // ≥ 1: K is a positive multiple of 32 (pack_matrix checks)
      case 1:
        return gemv_short_rows<Format, 1>(c, rows, n, ahead, bias, y);
      case 2:
        return gemv_short_rows<Format, 2>(c, rows, n, ahead, bias, y);
      case 3:
        return gemv_short_rows<Format, 3>(c, rows, n, ahead, bias, y);
      case 4:
        static_assert(QuantGemvPolicy::kMaxShortRowSupers == 4, "a case per short-row length");
        return gemv_short_rows<Format, 4>(c, rows, n, ahead, bias, y);
      default:
        break;  // longer rows: the walks below
    }
  }
  if (const size_t l2_bytes = Format::long_row_l2_prefetch_bytes(); l2_bytes > 0) {
    const auto l2_ahead = std::max<int64_t>(1, static_cast<int64_t>(l2_bytes / c.row_bytes));
    return gemv_long_rows<Format, kIntoL2>(c, rows, n, l2_ahead, bias, y);
  }
  gemv_long_rows<Format, kIntoL1>(c, rows, n, ahead, bias, y);
}

IVL_AVX512 void q8_0_gemv(const int8_t* xq, const float* dx, const int32_t* xsum,
                          const std::byte* rows, int64_t k, int64_t n, const float* bias,
                          float* y) {
  quant_gemv<Q8Rows>(xq, dx, xsum, rows, k, n, bias, y);
}

IVL_AVX512 void q4_0_gemv(const int8_t* xq, const float* dx, const int32_t* xsum,
                          const std::byte* rows, int64_t k, int64_t n, const float* bias,
                          float* y) {
  quant_gemv<Q4Rows>(xq, dx, xsum, rows, k, n, bias, y);
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

// quantize_activation, 32 values (one block) per iteration: the same float operations (amax,
// amax / 127, 1 / d, x · inv rounded to nearest even under the default MXCSR, as nearbyint),
// so the results are identical.
IVL_AVX512 void quantize_rows(const float* x, int64_t m, int64_t k, int8_t* xq, float* dx,
                              int32_t* xsum) {
  const int64_t blocks = m * (k / kQuantBlock);  // rows are contiguous: blocks run on
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
  const __m512 inf = _mm512_set1_ps(INFINITY);
  for (int64_t b = 0; b < blocks; ++b) {
    const __m512 v0 = _mm512_loadu_ps(x + 32 * b), v1 = _mm512_loadu_ps(x + 32 * b + 16);
    const __m512 a0 = _mm512_abs_ps(v0), a1 = _mm512_abs_ps(v1);
    // Not less than infinity, or unordered: an infinity or a NaN (see quantize_activation).
    if ((_mm512_cmp_ps_mask(a0, inf, _CMP_NLT_UQ) | _mm512_cmp_ps_mask(a1, inf, _CMP_NLT_UQ)) !=
        0) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + 32 * b), _mm256_setzero_si256());
      dx[b] = NAN;
      xsum[b] = 0;
      continue;
    }
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
    const float d = amax / 127.f;
    const __m512 inv = _mm512_set1_ps(d >= FLT_MIN ? 1.f / d : 0.f);  // as quantize_activation
    const __m512i q0 =
        _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v0, inv)), lo), hi);
    const __m512i q1 =
        _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v1, inv)), lo), hi);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(xq + 32 * b), _mm512_cvtepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(xq + 32 * b + 16), _mm512_cvtepi32_epi8(q1));
    dx[b] = d;
    xsum[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
  }
}

// ---- GEMM (prefill) with quantized weights ----
//
// The weight rows are re-laid out, 32 at a time, into an integer panel whose vpdpbusd lanes are
// weight rows (16 per zmm) instead of blocks: for block b and step j (4 columns) of it, the 32
// rows' 4 codes as two zmm. Each activation row then enters as a broadcast of 4 bytes in its
// natural order, so a product needs no per-row horizontal sum and no re-ordered activations, and
// the one micro-kernel serves both formats. The repack is O(32·k) per panel against O(m·32·k)
// multiply-adds, so it only shows for a few activation rows.
// vpdpbusd multiplies unsigned by signed bytes: the panel holds unsigned codes (q8_0: q + 128;
// q4_0: the 4-bit code as stored), the activations stay signed, and each block's
// Σ (q + c)·x = Σ q·x + c·xsum is corrected by starting the block's integer sum at −c·xsum
// (c = 128 or 8; for q4_0 this is exactly its −8 offset).
constexpr int64_t kGemmRows = 32;              // weight rows per integer panel (two zmm of lanes)
constexpr int64_t kPanelStep = 4 * kGemmRows;  // bytes per step of 4 columns

// t[l] lane r = a[r] lane l, for 16 vectors of 16 dwords: dword pairs, then quads, then the
// 4×4 transpose of 128-bit lanes.
IVL_AVX512 inline void transpose16(__m512i a[16]) {
  __m512i u[16];
#pragma GCC unroll 8
  for (int i = 0; i < 16; i += 2) {
    u[i] = _mm512_unpacklo_epi32(a[i], a[i + 1]);
    u[i + 1] = _mm512_unpackhi_epi32(a[i], a[i + 1]);
  }
  __m512i v[4][4];  // v[g][e], 128-bit lane q: dword 4q+e of rows 4g..4g+3
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    v[g][0] = _mm512_unpacklo_epi64(u[4 * g], u[4 * g + 2]);
    v[g][1] = _mm512_unpackhi_epi64(u[4 * g], u[4 * g + 2]);
    v[g][2] = _mm512_unpacklo_epi64(u[4 * g + 1], u[4 * g + 3]);
    v[g][3] = _mm512_unpackhi_epi64(u[4 * g + 1], u[4 * g + 3]);
  }
#pragma GCC unroll 4
  for (int e = 0; e < 4; ++e) {
    const __m512i x0 = _mm512_shuffle_i32x4(v[0][e], v[1][e], _MM_SHUFFLE(1, 0, 1, 0));
    const __m512i x1 = _mm512_shuffle_i32x4(v[0][e], v[1][e], _MM_SHUFFLE(3, 2, 3, 2));
    const __m512i y0 = _mm512_shuffle_i32x4(v[2][e], v[3][e], _MM_SHUFFLE(1, 0, 1, 0));
    const __m512i y1 = _mm512_shuffle_i32x4(v[2][e], v[3][e], _MM_SHUFFLE(3, 2, 3, 2));
    a[e] = _mm512_shuffle_i32x4(x0, y0, _MM_SHUFFLE(2, 0, 2, 0));
    a[4 + e] = _mm512_shuffle_i32x4(x0, y0, _MM_SHUFFLE(3, 1, 3, 1));
    a[8 + e] = _mm512_shuffle_i32x4(x1, y1, _MM_SHUFFLE(2, 0, 2, 0));
    a[12 + e] = _mm512_shuffle_i32x4(x1, y1, _MM_SHUFFLE(3, 1, 3, 1));
  }
}

// Rows [0, n) (n ≤ 32) of the q8_0 / q4_0 rows at `rows` into the integer panel: codes[(b·8 + j)
// · 128 + 4·r + e] is code e of step j of block b of row r, scales[32·b + r] its block's scale.
// Rows n..31 get zero scales (and bounded codes), so they contribute exactly 0. A step's 4-byte
// groups of one row are one load (one per block lane), so the repack is 16×16 transposes of dwords.
template <bool kQ4>
IVL_AVX512 void repack_panel(const std::byte* rows, size_t row_bytes, int64_t k, int64_t n,
                             uint8_t* codes, float* scales) {
  const int64_t nb = k / kQuantBlock;
  const size_t code_bytes = kQ4 ? static_cast<size_t>(k / 2) : static_cast<size_t>(k);
  const __m512i nibble = _mm512_set1_epi8(0x0f), flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t s = 0; 16 * s < nb; ++s) {
    const int64_t nsb = std::min<int64_t>(16, nb - 16 * s);
    const __mmask64 mask = step_mask(nsb);
    for (int64_t h = 0; h < 2; ++h) {                // rows 16h .. 16h+15
      for (int64_t p = 0; p < (kQ4 ? 4 : 8); ++p) {  // one load per row: q4_0 steps 2p, 2p+1
        const size_t at = static_cast<size_t>(kQ4 ? 256 * s + 4 * nsb * p : 512 * s + 4 * nsb * p);
        __m512i a[16], hi[16];
#pragma GCC unroll 16
        for (int r = 0; r < 16; ++r) {
          const int64_t row = 16 * h + r;
          a[r] = row < n ? _mm512_maskz_loadu_epi8(mask,
                                                   rows + static_cast<size_t>(row) * row_bytes + at)
                         : _mm512_setzero_si512();
          if constexpr (kQ4) {
            hi[r] = _mm512_and_si512(_mm512_srli_epi16(a[r], 4), nibble);
            a[r] = _mm512_and_si512(a[r], nibble);
          } else {
            a[r] = _mm512_xor_si512(a[r], flip);
          }
        }
        const int64_t j = kQ4 ? 2 * p : p;
        transpose16(a);
        for (int64_t l = 0; l < nsb; ++l)
          _mm512_storeu_si512(codes + ((16 * s + l) * 8 + j) * kPanelStep + 64 * h, a[l]);
        if constexpr (kQ4) {
          transpose16(hi);
          for (int64_t l = 0; l < nsb; ++l)
            _mm512_storeu_si512(codes + ((16 * s + l) * 8 + j + 1) * kPanelStep + 64 * h, hi[l]);
        }
      }
    }
  }
  if (n < kGemmRows) std::fill(scales, scales + nb * kGemmRows, 0.f);
  // Each row's scales are contiguous: convert 16 at a time, scatter them 32 floats apart.
  const __m512i block_stride =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(kGemmRows));
  for (int64_t r = 0; r < n; ++r) {
    const std::byte* sc = rows + static_cast<size_t>(r) * row_bytes + code_bytes;
    for (int64_t b = 0; b < nb; b += 16) {
      const auto mask = static_cast<__mmask16>(nb - b >= 16 ? 0xffff : (1u << (nb - b)) - 1);
      const __m512 d = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, sc + 2 * b));
      _mm512_mask_i32scatter_ps(scales + b * kGemmRows + r, mask, block_stride, d, 4);
    }
  }
}

IVL_AVX512 inline __m512i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// MR activation rows against one integer panel: per block, 2·MR int32 sums (16 weight rows
// each) over its 8 steps, then folded into 2·MR float sums with the block's scales.
template <int MR>
IVL_AVX512 void int_tile(const int8_t* x, int64_t k, const float* dx, const int32_t* corr,
                         const uint8_t* codes, const float* scales, const float* bias, float* c,
                         int64_t ldc, __mmask16 m0, __mmask16 m1) {
  const int64_t nb = k / kQuantBlock;
  __m512 f0[MR], f1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) f0[r] = f1[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m512i s0[MR], s1[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      s0[r] = s1[r] = _mm512_set1_epi32(corr[r * nb + b]);
    }
    const uint8_t* cb = codes + b * 8 * kPanelStep;
    const int8_t* xb = x + b * kQuantBlock;
#pragma GCC unroll 8
    for (int64_t j = 0; j < 8; ++j) {
      const __m512i w0 = _mm512_loadu_si512(cb + j * kPanelStep);
      const __m512i w1 = _mm512_loadu_si512(cb + j * kPanelStep + 64);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const __m512i xv = bcast4(xb + r * k + 4 * j);
        s0[r] = _mm512_dpbusd_epi32(s0[r], w0, xv);
        s1[r] = _mm512_dpbusd_epi32(s1[r], w1, xv);
      }
    }
    const __m512 d0 = _mm512_loadu_ps(scales + b * kGemmRows);
    const __m512 d1 = _mm512_loadu_ps(scales + b * kGemmRows + 16);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 dxr = _mm512_set1_ps(dx[r * nb + b]);
      f0[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0[r]), _mm512_mul_ps(d0, dxr), f0[r]);
      f1[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1[r]), _mm512_mul_ps(d1, dxr), f1[r]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) store_row(c + r * ldc, f0[r], f1[r], bias, m0, m1);
}

// The integer panels of one group, repacked side by side: panel p's codes at p · panel_codes, its
// scales at p · panel_scales, its outputs at columns 32p of c.
struct PanelGroup {
  const uint8_t* codes;
  const float* scales;
  int64_t panel_codes, panel_scales;
  int64_t panels, cols;  // cols: valid rows of the whole group (the last panel may be partial)
  const float* bias;     // of the group's first row, or null
  int32_t* corr;         // scratch: the row tile's block sum offsets, kGemmMr · nb
};

IVL_AVX512 inline void panel_masks(int64_t cols, __mmask16* m0, __mmask16* m1) {
  *m0 = static_cast<__mmask16>(cols >= 16 ? 0xffff : (1u << cols) - 1);
  *m1 = static_cast<__mmask16>(cols >= 32 ? 0xffff : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
}

// MR activation rows against every panel of the group (the rows' codes stay in L1 meanwhile, and
// c is written as one run of up to 32·panels floats per row).
template <int MR>
IVL_AVX512 void tile_row(const int8_t* xq, int64_t k, const float* dx, const int32_t* xsum,
                         int32_t shift, const PanelGroup& g, float* c, int64_t ldc) {
  // Each block's integer sum starts at −c·xsum (c = 1 << shift), the same for every panel.
  const int64_t nb = k / kQuantBlock;
  for (int64_t e = 0; e < MR * nb; ++e) g.corr[e] = -(xsum[e] * (1 << shift));
  for (int64_t p = 0; p < g.panels; ++p) {
    __mmask16 m0, m1;
    panel_masks(g.cols - kGemmRows * p, &m0, &m1);
    int_tile<MR>(xq, k, dx, g.corr, g.codes + p * g.panel_codes, g.scales + p * g.panel_scales,
                 g.bias != nullptr ? g.bias + kGemmRows * p : nullptr, c + kGemmRows * p, ldc, m0,
                 m1);
  }
}

template <int MR>
IVL_AVX512 void tile_rows(const int8_t* xq, int64_t k, const float* dx, const int32_t* xsum,
                          int64_t m, int32_t shift, const PanelGroup& g, float* c, int64_t ldc) {
  const int64_t nb = k / kQuantBlock;
  int64_t i = 0;
  for (; i + MR <= m; i += MR) {
    // c is written once per element, MR rows apart: fetch the next row tile's lines for writing
    // now, a whole tile's computation ahead (measured: without it the store misses cost ~20% on
    // a 512 × 9728 product).
    if (i + 2 * MR <= m) {
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const float* next = c + (i + MR + r) * ldc;
        for (int64_t e = 0; e < g.cols; e += 16) __builtin_prefetch(next + e, 1, 3);
        __builtin_prefetch(next + g.cols - 1, 1, 3);
      }
    }
    tile_row<MR>(xq + i * k, k, dx + i * nb, xsum + i * nb, shift, g, c + i * ldc, ldc);
  }
  if constexpr (MR > 1) {
    if (i < m) {  // the rest, fewer than MR rows
      tile_rows<MR - 1>(xq + i * k, k, dx + i * nb, xsum + i * nb, m - i, shift, g, c + i * ldc,
                        ldc);
    }
  }
}

constexpr int kGemmMr = 6;  // 24 accumulators + 2 panel registers + 1 broadcast
// Codes of the panels in one group: they stay in L2 while every activation row passes.
constexpr int64_t kGroupBytes = 256 << 10;

template <bool kQ4>
IVL_AVX512 void quant_gemm(const int8_t* xq, const float* dx, const int32_t* xsum, int64_t m,
                           const std::byte* rows, int64_t k, int64_t n, const float* bias, float* c,
                           int64_t ldc) {
  const int64_t nb = k / kQuantBlock;
  const size_t row_bytes = quant_row_bytes(kQ4 ? MatrixLayout::kQ4_0 : MatrixLayout::kQ8_0, k);
  const int64_t panel_codes = nb * 8 * kPanelStep, panel_scales = nb * kGemmRows;
  const int64_t group = std::clamp<int64_t>(kGroupBytes / panel_codes, 1, 16);
  // One group of integer panels per thread, grown once.
  thread_local ScratchVector<uint8_t> codes;
  thread_local ScratchVector<float> scales;
  thread_local ScratchVector<int32_t> corr;
  if (corr.size() < static_cast<size_t>(kGemmMr * nb))
    corr.resize(static_cast<size_t>(kGemmMr * nb));
  if (codes.size() < static_cast<size_t>(group * panel_codes)) {
    codes.resize(static_cast<size_t>(group * panel_codes));
    scales.resize(static_cast<size_t>(group * panel_scales));
  }
  const int32_t shift = kQ4 ? 3 : 7;  // the code offset c = 8 or 128
  for (int64_t r0 = 0; r0 < n; r0 += group * kGemmRows) {
    const int64_t cols = std::min(group * kGemmRows, n - r0);
    const int64_t panels = (cols + kGemmRows - 1) / kGemmRows;
    for (int64_t p = 0; p < panels; ++p) {
      repack_panel<kQ4>(rows + static_cast<size_t>(r0 + kGemmRows * p) * row_bytes, row_bytes, k,
                        std::min(kGemmRows, cols - kGemmRows * p), codes.data() + p * panel_codes,
                        scales.data() + p * panel_scales);
    }
    const PanelGroup g{codes.data(),
                       scales.data(),
                       panel_codes,
                       panel_scales,
                       panels,
                       cols,
                       bias != nullptr ? bias + r0 : nullptr,
                       corr.data()};
    tile_rows<kGemmMr>(xq, k, dx, xsum, m, shift, g, c + r0, ldc);
  }
}

IVL_AVX512 void q8_0_gemm(const int8_t* xq, const float* dx, const int32_t* xsum, int64_t m,
                          const std::byte* rows, int64_t k, int64_t n, const float* bias, float* c,
                          int64_t ldc) {
  quant_gemm<false>(xq, dx, xsum, m, rows, k, n, bias, c, ldc);
}

IVL_AVX512 void q4_0_gemm(const int8_t* xq, const float* dx, const int32_t* xsum, int64_t m,
                          const std::byte* rows, int64_t k, int64_t n, const float* bias, float* c,
                          int64_t ldc) {
  quant_gemm<true>(xq, dx, xsum, m, rows, k, n, bias, c, ldc);
}

}  // namespace

QuantGemvPolicy& avx512_quant_gemv_policy() {
  static QuantGemvPolicy policy = quant_gemv_policy_for_this_cpu();
  return policy;
}

const PackedKernels* avx512_kernels() {
  static const PackedKernels k{.name = "avx512",
                               .panel_product = panel_product,
                               .compact_panel_product = compact_panel_product,
                               .q8_0_gemv = q8_0_gemv,
                               .q4_0_gemv = q4_0_gemv,
                               .quantize_rows = quantize_rows,
                               .q8_0_gemm = q8_0_gemm,
                               .q4_0_gemm = q4_0_gemm,
                               .softmax_numerators_bf16 = softmax_numerators_bf16,
                               .to_bf16 = to_bf16_avx512,
                               .decode_attention = decode_attention_avx512};
  static const bool ok = cpu_has_avx512_kernel_features();
  return ok ? &k : nullptr;
}

}  // namespace ivl::ops

#else  // not x86-64 GCC/Clang

namespace ivl::ops {
QuantGemvPolicy& avx512_quant_gemv_policy() {
  static QuantGemvPolicy policy;
  return policy;
}
const PackedKernels* avx512_kernels() {
  return nullptr;
}
}  // namespace ivl::ops

#endif
