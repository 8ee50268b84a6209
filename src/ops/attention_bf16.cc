// Attention with bf16 products (AttentionShape::bf16): used with the packed weight formats, whose
// matrix products already round activations to bf16 (as the official bf16 inference does).
//
// Per KV head, K [n_kv, D] and Vᵀ [D, n_kv] are packed once into bf16 panels (the same layout as
// packed weights), so both products run on the panel kernel: S = Q·Kᵀ for a block of query rows
// (keys as "output rows"), the softmax numerators on the block's rows, then O = P·V (head dims as
// "output rows", keys as the reduction), divided by the softmax sums. Only a block of scores
// exists at a time — never n_q × n_kv.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/packed_formats.h"
#include "ops/packed_kernels.h"

namespace ivl::ops {
namespace {

constexpr int64_t kQueryBlock = 48;  // a multiple of the panel kernel's 12-row tile

int64_t round_up(int64_t n, int64_t a) {
  return (n + a - 1) / a * a;
}

// K of one head, rows = keys, as panels with `d` (even) columns: each key is rounded to bf16 as
// one row (vectorised), then its column pairs (4 bytes each) go to their panel slots.
void pack_keys(const float* k, int64_t stride, int64_t n_kv, int64_t d, uint16_t* dst) {
  thread_local std::vector<uint16_t> row;
  if (row.size() < static_cast<size_t>(d)) row.resize(static_cast<size_t>(d));
  const int64_t rows = round_up(n_kv, kPanelRows);
  for (int64_t j = 0; j < n_kv; ++j) {
    to_bf16(k + j * stride, d, row.data());
    uint16_t* slot = dst + (j / kPanelRows) * kPanelRows * d + (j % kPanelRows) * 2;
    for (int64_t c = 0; c < d; c += 2) std::memcpy(slot + c * kPanelRows, row.data() + c, 4);
  }
  // Keys past n_kv in the last panel: zero rows.
  for (int64_t j = n_kv; j < rows; ++j) {
    uint16_t* slot = dst + (j / kPanelRows) * kPanelRows * d + (j % kPanelRows) * 2;
    for (int64_t c = 0; c < d; c += 2) std::memset(slot + c * kPanelRows, 0, 4);
  }
}

// Vᵀ of one head: rows = head dims, columns = keys (n_pad even, zero beyond n_kv). Keys go in
// pairs (2j, 2j+1): both rounded to bf16 as rows, then each head dim's pair is one 4-byte slot,
// consecutive over the dims of a panel.
void pack_values_transposed(const float* v, int64_t stride, int64_t n_kv, int64_t n_pad, int64_t d,
                            uint16_t* dst) {
  thread_local std::vector<uint16_t> rows2;
  if (rows2.size() < static_cast<size_t>(2 * d)) rows2.resize(static_cast<size_t>(2 * d));
  uint16_t* even = rows2.data();
  uint16_t* odd = rows2.data() + d;
  const int64_t row_panels = round_up(d, kPanelRows) / kPanelRows;
  for (int64_t j = 0; j < n_pad; j += 2) {
    to_bf16(v + j * stride, d, even);
    if (j + 1 < n_kv) {
      to_bf16(v + (j + 1) * stride, d, odd);
    } else {
      std::fill(odd, odd + d, uint16_t{0});
    }
    for (int64_t p = 0; p < row_panels; ++p) {
      uint16_t* slot = dst + p * kPanelRows * n_pad + j * kPanelRows;
      const int64_t c0 = p * kPanelRows, cols = std::min(kPanelRows, d - c0);
      for (int64_t c = 0; c < cols; ++c) {
        slot[2 * c] = even[c0 + c];
        slot[2 * c + 1] = odd[c0 + c];
      }
      std::fill(slot + 2 * cols, slot + 2 * kPanelRows, uint16_t{0});
    }
  }
}

}  // namespace

void attention_bf16(const float* q, const float* k, const float* v, float* out,
                    const AttentionShape& s, ThreadPool* pool) {
  const PackedKernels& kern = active_kernels();
  const int64_t d = s.head_dim, group = s.n_heads / s.n_kv_heads;
  const int64_t n_pad = round_up(s.n_kv, 2);  // keys as a reduction dimension: even
  const int64_t k_panel_elems = round_up(s.n_kv, kPanelRows) * d;
  const int64_t v_panel_elems = round_up(d, kPanelRows) * n_pad;
  // Packed K and Vᵀ of every KV head, shared by the tasks; grown once per calling thread.
  thread_local std::vector<uint16_t> packed;
  const auto need = static_cast<size_t>(s.n_kv_heads * (k_panel_elems + v_panel_elems));
  if (packed.size() < need) packed.resize(need);
  uint16_t* kp = packed.data();
  uint16_t* vp = packed.data() + s.n_kv_heads * k_panel_elems;
  auto pack = [&](int64_t h0, int64_t h1) {
    for (int64_t h = h0; h < h1; ++h) {
      pack_keys(k + h * d, s.kv_stride, s.n_kv, d, kp + h * k_panel_elems);
      pack_values_transposed(v + h * d, s.kv_stride, s.n_kv, n_pad, d, vp + h * v_panel_elems);
    }
  };
  if (pool != nullptr) {
    pool->parallel_for(s.n_kv_heads, pack);
  } else {
    pack(0, s.n_kv_heads);
  }

  const int64_t q_blocks = (s.n_q + kQueryBlock - 1) / kQueryBlock;
  auto run = [&](int64_t t0, int64_t t1) {
    thread_local std::vector<uint16_t> qb, pb;
    thread_local std::vector<float> scores, ob, qs;
    thread_local std::vector<float> inv_sum(kQueryBlock);
    if (qs.size() < static_cast<size_t>(d)) qs.resize(static_cast<size_t>(d));
    if (qb.size() < static_cast<size_t>(kQueryBlock * d))
      qb.resize(static_cast<size_t>(kQueryBlock * d));
    if (pb.size() < static_cast<size_t>(kQueryBlock * n_pad))
      pb.resize(static_cast<size_t>(kQueryBlock * n_pad));
    const int64_t s_stride = round_up(s.n_kv, kPanelRows);
    if (scores.size() < static_cast<size_t>(kQueryBlock * s_stride))
      scores.resize(static_cast<size_t>(kQueryBlock * s_stride));
    const int64_t o_stride = round_up(d, kPanelRows);
    if (ob.size() < static_cast<size_t>(kQueryBlock * o_stride))
      ob.resize(static_cast<size_t>(kQueryBlock * o_stride));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t h = t / q_blocks, blk = t % q_blocks, kvh = h / group;
      const int64_t i0 = blk * kQueryBlock, rows = std::min(kQueryBlock, s.n_q - i0);
      const int64_t visible = s.causal ? std::min(s.n_kv, s.q_offset + i0 + rows) : s.n_kv;
      for (int64_t i = 0; i < rows; ++i) {  // Q rows, scaled, as bf16
        const float* src = q + (i0 + i) * s.q_stride + h * d;
        for (int64_t c = 0; c < d; ++c) qs[static_cast<size_t>(c)] = src[c] * s.scale;
        to_bf16(qs.data(), d, qb.data() + i * d);
      }
      // S[i, j] for the visible keys, panel by panel.
      const uint16_t* kh = kp + kvh * k_panel_elems;
      for (int64_t p = 0; p * kPanelRows < visible; ++p) {
        const int64_t cols = std::min(kPanelRows, visible - p * kPanelRows);
        kern.panel_product(qb.data(), d, rows, kh + p * kPanelRows * d, d, cols, nullptr,
                           scores.data() + p * kPanelRows, s_stride);
      }
      const int64_t reduce = round_up(visible, 2);
      // P = e^(S − max) unnormalised in bf16; each output row is divided by its sum below
      // (d values instead of n_kv probabilities per row).
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t n = s.causal ? std::min(s.n_kv, s.q_offset + i0 + i + 1) : s.n_kv;
        uint16_t* prow = pb.data() + i * n_pad;
        inv_sum[static_cast<size_t>(i)] =
            1.f / kern.softmax_numerators_bf16(scores.data() + i * s_stride, n, prow);
        std::fill(prow + n, prow + reduce, uint16_t{0});  // masked keys weigh nothing
      }
      // O = P·V over the visible keys: a prefix of every Vᵀ panel's column pairs.
      const uint16_t* vh = vp + kvh * v_panel_elems;
      for (int64_t p = 0; p * kPanelRows < d; ++p) {
        const int64_t cols = std::min(kPanelRows, d - p * kPanelRows);
        kern.panel_product(pb.data(), n_pad, rows, vh + p * kPanelRows * n_pad, reduce, cols,
                           nullptr, ob.data() + p * kPanelRows, o_stride);
      }
      for (int64_t i = 0; i < rows; ++i) {
        const float* o = ob.data() + i * o_stride;
        float* dst = out + (i0 + i) * s.out_stride + h * d;
        const float inv = inv_sum[static_cast<size_t>(i)];
        for (int64_t c = 0; c < d; ++c) dst[c] = o[c] * inv;
      }
    }
  };
  const int64_t tasks = s.n_heads * q_blocks;
  if (pool != nullptr) {
    pool->parallel_for(tasks, run);
  } else {
    run(0, tasks);
  }
}

}  // namespace ivl::ops
