// AVX-512 decode attention (PackedKernels::decode_attention): one query row, the query heads of
// one key/value head together, so the cached keys and values are read once per group instead of
// once per query head (7 times for Qwen2.5-0.5B's 14 / 2 heads). Scores run along positions
// from the position-blocked keys (ops/attention.h): each key/value head's share of a block of 16
// positions is one contiguous run, so the keys are read as one forward stream (the transposed
// [column][position] layout before made that 64 strided streams: 1.15–1.4× slower from DRAM). The
// weighted sum keeps a block of output columns of every query in registers while it streams the
// value rows.
#include "ops/packed_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "ops/attention.h"
#include "ops/avx512_common.h"

namespace ivl::ops {
namespace {

// Query heads per register block. Scores: kG queries × kJ blocks of 16 positions, kG·kJ
// independent FMA chains (one is latency-bound). Weighted sum: kG queries × 64 columns.
constexpr int64_t kMaxGroupBlock = 4;

// s[g·n + j] = scale · Σ_c q[g·d + c] · kt[blocked_key_index(c, j, kt_block_stride)] for
// g < kG, j < n: kJ blocks of 16 positions at a time.
template <int kG, int kJ>
IVL_AVX512 void block_scores(const float* q, int64_t d, const float* kt, int64_t kt_block_stride,
                             int64_t n, float scale, float* s) {
  static_assert(kKeyBlock == 16, "one key block is one vector of positions");
  const __m512 sc = _mm512_set1_ps(scale);
  for (int64_t j0 = 0; j0 < n; j0 += 16 * kJ) {
    __mmask16 m[kJ];
    __m512 acc[kG][kJ];
#pragma GCC unroll 4
    for (int b = 0; b < kJ; ++b) {
      m[b] = first_lanes(n - j0 - 16 * b);
#pragma GCC unroll 4
      for (int g = 0; g < kG; ++g) acc[g][b] = _mm512_setzero_ps();
    }
    const float* blocks = kt + (j0 / kKeyBlock) * kt_block_stride;
    for (int64_t c = 0; c < d; ++c) {
#pragma GCC unroll 4
      for (int b = 0; b < kJ; ++b) {
        const __m512 k = _mm512_maskz_loadu_ps(m[b], blocks + b * kt_block_stride + c * kKeyBlock);
#pragma GCC unroll 4
        for (int g = 0; g < kG; ++g)
          acc[g][b] = _mm512_fmadd_ps(_mm512_set1_ps(q[g * d + c]), k, acc[g][b]);
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < kG; ++g) {
#pragma GCC unroll 4
      for (int b = 0; b < kJ; ++b)
        _mm512_mask_storeu_ps(s + g * n + j0 + 16 * b, m[b], _mm512_mul_ps(acc[g][b], sc));
    }
  }
}

// x[j] ← e^(x[j] − max x) for j < n; returns Σ e.
IVL_AVX512 float exponentiate(float* x, int64_t n) {
  __m512 mx = _mm512_set1_ps(-INFINITY);
  for (int64_t j = 0; j < n; j += 16)
    mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(mx, first_lanes(n - j), x + j));
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 lanes = first_lanes(n - j);
    const __m512 e = exp_nonpositive16(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, x + j), m));
    sum = _mm512_mask_add_ps(sum, lanes, sum, e);
    _mm512_mask_storeu_ps(x + j, lanes, e);
  }
  return _mm512_reduce_add_ps(sum);
}

// out[g·d + c] = inv_sum[g] · Σ_j e[g·n + j] · v[j·v_stride + c] for g < kG, c < d: 64 columns
// (four registers) of every query at a time, each value row loaded once per block.
template <int kG>
IVL_AVX512 void block_weighted_sum(const float* e, int64_t n, const float* v, int64_t v_stride,
                                   int64_t d, const float* inv_sum, float* out) {
  for (int64_t c0 = 0; c0 < d; c0 += 64) {
    __mmask16 m[4];
    __m512 acc[kG][4];
#pragma GCC unroll 4
    for (int t = 0; t < 4; ++t) {
      m[t] = first_lanes(d - c0 - 16 * t);
#pragma GCC unroll 4
      for (int g = 0; g < kG; ++g) acc[g][t] = _mm512_setzero_ps();
    }
    for (int64_t j = 0; j < n; ++j) {
      const float* vj = v + j * v_stride + c0;
      __m512 row[4];
#pragma GCC unroll 4
      for (int t = 0; t < 4; ++t) row[t] = _mm512_maskz_loadu_ps(m[t], vj + 16 * t);
#pragma GCC unroll 4
      for (int g = 0; g < kG; ++g) {
        const __m512 p = _mm512_set1_ps(e[g * n + j]);
#pragma GCC unroll 4
        for (int t = 0; t < 4; ++t) acc[g][t] = _mm512_fmadd_ps(p, row[t], acc[g][t]);
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < kG; ++g) {
      const __m512 inv = _mm512_set1_ps(inv_sum[g]);
#pragma GCC unroll 4
      for (int t = 0; t < 4; ++t)
        _mm512_mask_storeu_ps(out + g * d + c0 + 16 * t, m[t], _mm512_mul_ps(acc[g][t], inv));
    }
  }
}

// One block of kG query heads: scores, softmax numerators, weighted sum.
template <int kG>
IVL_AVX512 void attend_block(const float* q, int64_t d, const float* kt, int64_t kt_block_stride,
                             const float* v, int64_t v_stride, int64_t n, float scale,
                             float* scores, float* out) {
  // Fewer queries keep more position blocks in flight, so the FMA chains stay ≥ 8.
  block_scores<kG, (kG <= 2 ? 4 : 2)>(q, d, kt, kt_block_stride, n, scale, scores);
  float inv_sum[kG];
  for (int g = 0; g < kG; ++g) inv_sum[g] = 1.0f / exponentiate(scores + g * n, n);
  block_weighted_sum<kG>(scores, n, v, v_stride, d, inv_sum, out);
}

}  // namespace

IVL_AVX512 void decode_attention_avx512(const float* q, int64_t groups, int64_t d, const float* kt,
                                        int64_t kt_block_stride, const float* v, int64_t v_stride,
                                        int64_t n, float scale, float* scores, float* out) {
  // Blocks of nearly equal size (7 heads: 4 + 3), so no block is a lone latency-bound query.
  const int64_t blocks = (groups + kMaxGroupBlock - 1) / kMaxGroupBlock;
  for (int64_t b = 0, g0 = 0; b < blocks; ++b) {
    const int64_t size = (groups - g0) / (blocks - b);
    const float* qb = q + g0 * d;
    float* ob = out + g0 * d;
    float* sb = scores + g0 * n;
    switch (size) {
      case 1:
        attend_block<1>(qb, d, kt, kt_block_stride, v, v_stride, n, scale, sb, ob);
        break;
      case 2:
        attend_block<2>(qb, d, kt, kt_block_stride, v, v_stride, n, scale, sb, ob);
        break;
      case 3:
        attend_block<3>(qb, d, kt, kt_block_stride, v, v_stride, n, scale, sb, ob);
        break;
      default:
        attend_block<4>(qb, d, kt, kt_block_stride, v, v_stride, n, scale, sb, ob);
        break;
    }
    g0 += size;
  }
}

}  // namespace ivl::ops

#endif
