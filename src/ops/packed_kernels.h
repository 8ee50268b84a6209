// The hand-written inner kernels (internal to ops/): those behind ops::linear for the packed
// layouts, and the attention pieces that decode and the bf16 attention need.
//
// Each kernel exists twice: a portable scalar version (the oracle, and the path on CPUs without
// AVX-512 BF16/VNNI) and an AVX-512 version (vdpbf16ps, vpdpbusd; decode attention in
// decode_attention_avx512.cc). One table is chosen once per process from the CPU's features;
// both compute the same function up to float summation order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ops/matrix.h"
#include "ops/packed_formats.h"

namespace ivl::ops {

struct PackedKernels {
  const char* name;
  // c[i, j] = Σ_k a[i, k] · panel(j, k) (+ bias[j]) for i < m, j < cols (≤ 32), where a is bf16
  // [m, k] with row stride lda, the panel is one kBF16Panels panel, c has row stride ldc.
  void (*panel_product)(const uint16_t* a, int64_t lda, int64_t m, const uint16_t* panel, int64_t k,
                        int64_t cols, const float* bias, float* c, int64_t ldc);
  // panel_product for one kBF16Compact panel (compact_panel_bytes(k) bytes at `panel`) with its
  // exceptions: the same bf16 weights, so the same values up to float summation order.
  void (*compact_panel_product)(const uint16_t* a, int64_t lda, int64_t m, const std::byte* panel,
                                CompactExceptionList exceptions, int64_t k, int64_t cols,
                                const float* bias, float* c, int64_t ldc);
  // y[r] = Σ_b dx[b] · d_r[b] · Σ_{k in b} xq[k] · q_r[k] (+ bias[r]) for the n kQ8_0 rows
  // starting at `rows` (x quantized by quantize_activation; xsum[b] = Σ_{k in b} xq[k], which the
  // AVX-512 version uses to offset its unsigned codes).
  void (*q8_0_gemv)(const int8_t* xq, const float* dx, const int32_t* xsum, const std::byte* rows,
                    int64_t k, int64_t n, const float* bias, float* y);
  // The same for kQ4_0 rows, whose weights are d · (code − 8); xsum[b] = Σ_{k in b} xq[k].
  void (*q4_0_gemv)(const int8_t* xq, const float* dx, const int32_t* xsum, const std::byte* rows,
                    int64_t k, int64_t n, const float* bias, float* y);
  // quantize_activation for m rows of k (x, xq row stride k; dx, xsum row stride k / 32), with
  // exactly its results (same roundings).
  void (*quantize_rows)(const float* x, int64_t m, int64_t k, int8_t* xq, float* dx, int32_t* xsum);
  // The GEMMs behind prefill with quantized weights: for m activation rows (quantized by
  // quantize_activation; xq row stride k, dx and xsum row stride k / 32) and the n kQ8_0 / kQ4_0
  // rows starting at `rows`, c[i, r] = row i's q8_0_gemv / q4_0_gemv value for row r
  // (+ bias[r]) up to float summation order, with c of row stride ldc (only columns < n are
  // written). Any m ≥ 1, any n ≥ 1; the AVX-512 version pays an O(n·k) repack per call, so
  // it is meant for many rows (prefill), the GEMV for one.
  void (*q8_0_gemm)(const int8_t* xq, const float* dx, const int32_t* xsum, int64_t m,
                    const std::byte* rows, int64_t k, int64_t n, const float* bias, float* c,
                    int64_t ldc);
  void (*q4_0_gemm)(const int8_t* xq, const float* dx, const int32_t* xsum, int64_t m,
                    const std::byte* rows, int64_t k, int64_t n, const float* bias, float* c,
                    int64_t ldc);
  // ops::softmax_numerators_bf16 (the bf16 attention's softmax): out[i] = bf16(e^(scale·(x[i] −
  // max x))) for i < n, returns the float32 sum of the unrounded values.
  float (*softmax_numerators_bf16)(const float* x, int64_t n, float scale, uint16_t* out);
  // ops::to_bf16 (round to nearest even, NaNs kept quiet NaNs).
  void (*to_bf16)(const float* x, int64_t n, uint16_t* out);
  // Decode attention (float32) of one query row against n cached keys of one key/value head,
  // for the `groups` query heads that share it (GQA), head_dim d:
  //   out[g·d + c] = Σ_{j<n} p_g[j] · v[j·v_stride + c],  p_g = softmax_j(scale · s_g[j]),
  //   s_g[j] = Σ_{c<d} q[g·d + c] · kt[blocked_key_index(c, j, kt_block_stride)]   (the keys
  // blocked by position, as the KV cache keeps them; ops/attention.h), for g < groups, c < d,
  // n ≥ 1; the whole block holding position n − 1 is readable. `scores` is scratch for groups·n
  // floats. The group reads the keys and values once, not once per query head.
  void (*decode_attention)(const float* q, int64_t groups, int64_t d, const float* kt,
                           int64_t kt_block_stride, const float* v, int64_t v_stride, int64_t n,
                           float scale, float* scores, float* out);
};

// x[k] (k a multiple of 32) -> xq[k] int8 and dx[k/32], per block of 32: dx = max|x| / 127,
// xq = round(x / dx); xsum[b] = Σ xq over the block. A block holding a NaN or infinity gets
// dx = NaN and zero codes, so that the products it enters are NaN (and the logits' check
// catches it) instead of finite values made from the block's other entries.
void quantize_activation(const float* x, int64_t k, int8_t* xq, float* dx, int32_t* xsum);

// Round-to-nearest-even float32 -> bf16 of n values.
void to_bf16(const float* x, int64_t n, uint16_t* out);

// How the AVX-512 quantized GEMVs walk their rows: which formats prefetch rows in software (into
// L1, or into L2 for long q4_0 rows), up to which row length (bytes) rows go four at a time, and up
// to which length short rows keep the activations in registers. Chosen once per CPU (what was
// measured is in packed_kernels_avx512.cc); the results are bit-identical whichever is chosen.
// Mutable only so that tests can run every path on any CPU; nothing else may change it, and never
// while a GEMV runs.
struct QuantGemvPolicy {
  bool q4_0_prefetch = true;
  size_t q8_0_max_prefetch_row_bytes = SIZE_MAX;  // longer q8_0 rows are not prefetched
  size_t four_row_max_bytes = 1664;
  // Rows of at most this many super-blocks of 512 (K ≤ 512 · short_row_max_supers; 0: none;
  // values above kMaxShortRowSupers act as it): the activations stay in registers across rows,
  // each row is read whole before the next, and four rows share one reduction. Takes precedence
  // over four_row_max_bytes for those rows; prefetching still follows the fields above.
  int short_row_max_supers = 0;
  // The longest rows the short-row walk has a kernel for (10 zmm of operands per super-block).
  static constexpr int kMaxShortRowSupers = 4;
  // q4_0 rows the short-row walk does not take: when non-zero, each thread fetches its rows into
  // L2 (prefetcht1) this many bytes ahead (at least one row), in place of the L1 prefetches above.
  size_t q4_0_long_row_l2_prefetch_bytes = 0;
};
QuantGemvPolicy& avx512_quant_gemv_policy();

const PackedKernels& portable_kernels();
// nullptr when the CPU lacks AVX-512 F/BW/VL/BF16/VNNI (or the build is not for x86-64).
const PackedKernels* avx512_kernels();
// The table ops::linear uses: AVX-512 when available, unless IVL_KERNELS=portable is set in the
// environment (read once).
const PackedKernels& active_kernels();

}  // namespace ivl::ops
