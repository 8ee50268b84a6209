// Attention with bf16 products (AttentionShape::bf16): used with the packed weight formats, whose
// matrix products already round activations to bf16 (as the official bf16 inference does).
//
// Per KV head, K [n_kv, D] and Vᵀ [D, n_kv] are packed once into bf16 panels (the same layout as
// packed weights), so both products run on the panel kernel: S = Q·Kᵀ for a block of query rows
// (keys as "output rows"), the softmax numerators on the block's rows, then O = P·V (head dims as
// "output rows", keys as the reduction), divided by the softmax sums. Only a block of scores
// exists at a time — never n_q × n_kv. The softmax scale multiplies S in float32 inside the
// softmax, rather than Q before its rounding to bf16 (one rounding fewer, no pass over Q).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "core/thread_scratch.h"
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

// Rows [r0, r1) of the inputs, rounded to bf16 (r0 even, a multiple of kPanelRows for the keys):
// the Q rows into qb [n_q, n_heads·d]; for every KV head, each key's column pairs (4 bytes each)
// into its K panel slots, and each pair of keys (2j, 2j+1) into the Vᵀ panels, one 4-byte slot
// per head dim. Whole rows are read at once (all heads), so the inputs stream sequentially.
struct Packing {
  const AttentionShape& s;
  const PackedKernels& kern;
  uint16_t* qb;
  uint16_t* kp;
  uint16_t* vp;
  int64_t n_pad, k_panel_elems, v_panel_elems;

  void rows(int64_t r0, int64_t r1) const {
    const int64_t d = s.head_dim, hq = s.n_heads * d, hk = s.n_kv_heads * d;
    thread_local ScratchVector<uint16_t> row2;
    if (row2.size() < static_cast<size_t>(2 * hk)) row2.resize(static_cast<size_t>(2 * hk));
    for (int64_t i = r0; i < std::min(r1, s.n_q); ++i) kern.to_bf16(q(i), hq, qb + i * hq);
    const int64_t k_rows = round_up(s.n_kv, kPanelRows);
    for (int64_t j = r0; j < std::min(r1, k_rows); ++j) {  // K: zero rows past n_kv
      uint16_t* row = row2.data();
      if (j < s.n_kv) {
        kern.to_bf16(k(j), hk, row);
      } else {
        std::fill(row, row + hk, uint16_t{0});
      }
      for (int64_t h = 0; h < s.n_kv_heads; ++h) {
        uint16_t* slot =
            kp + h * k_panel_elems + (j / kPanelRows) * kPanelRows * d + (j % kPanelRows) * 2;
        for (int64_t c = 0; c < d; c += 2) std::memcpy(slot + c * kPanelRows, row + h * d + c, 4);
      }
    }
    const int64_t row_panels = round_up(d, kPanelRows) / kPanelRows;
    for (int64_t j = r0; j < std::min(r1, n_pad); j += 2) {  // Vᵀ: key pairs
      uint16_t* even = row2.data();
      uint16_t* odd = row2.data() + hk;
      kern.to_bf16(v(j), hk, even);
      if (j + 1 < s.n_kv) {
        kern.to_bf16(v(j + 1), hk, odd);
      } else {
        std::fill(odd, odd + hk, uint16_t{0});
      }
      for (int64_t h = 0; h < s.n_kv_heads; ++h) {
        for (int64_t p = 0; p < row_panels; ++p) {
          uint16_t* slot = vp + h * v_panel_elems + p * kPanelRows * n_pad + j * kPanelRows;
          const int64_t c0 = h * d + p * kPanelRows,
                        cols = std::min(kPanelRows, d - p * kPanelRows);
          for (int64_t c = 0; c < cols; ++c) {
            slot[2 * c] = even[c0 + c];
            slot[2 * c + 1] = odd[c0 + c];
          }
          std::fill(slot + 2 * cols, slot + 2 * kPanelRows, uint16_t{0});
        }
      }
    }
  }
  const float* q(int64_t i) const { return q_in + i * s.q_stride; }
  const float* k(int64_t j) const { return k_in + j * s.kv_stride; }
  const float* v(int64_t j) const { return v_in + j * s.kv_stride; }
  const float* q_in;
  const float* k_in;
  const float* v_in;
};

}  // namespace

void attention_bf16(const float* q, const float* k, const float* v, float* out,
                    const AttentionShape& s, ThreadPool* pool) {
  const PackedKernels& kern = active_kernels();
  const int64_t d = s.head_dim, group = s.n_heads / s.n_kv_heads;
  const int64_t n_pad = round_up(s.n_kv, 2);  // keys as a reduction dimension: even
  const int64_t k_panel_elems = round_up(s.n_kv, kPanelRows) * d;
  const int64_t v_panel_elems = round_up(d, kPanelRows) * n_pad;
  // Q as bf16 and the packed K and Vᵀ of every KV head, shared by the tasks; grown once per
  // calling thread.
  const int64_t hq = s.n_heads * d;
  thread_local ScratchVector<uint16_t> packed;
  const auto need =
      static_cast<size_t>(s.n_q * hq + s.n_kv_heads * (k_panel_elems + v_panel_elems));
  if (packed.size() < need) packed.resize(need);
  uint16_t* qbf = packed.data();
  uint16_t* kp = qbf + s.n_q * hq;
  uint16_t* vp = kp + s.n_kv_heads * k_panel_elems;
  const Packing packing{.s = s,
                        .kern = kern,
                        .qb = qbf,
                        .kp = kp,
                        .vp = vp,
                        .n_pad = n_pad,
                        .k_panel_elems = k_panel_elems,
                        .v_panel_elems = v_panel_elems,
                        .q_in = q,
                        .k_in = k,
                        .v_in = v};
  const int64_t pack_rows = std::max(s.n_q, round_up(s.n_kv, kPanelRows));
  auto pack = [&](int64_t b0, int64_t b1) {
    packing.rows(b0 * kPanelRows, std::min(b1 * kPanelRows, pack_rows));
  };
  const int64_t pack_blocks = (pack_rows + kPanelRows - 1) / kPanelRows;
  if (pool != nullptr) {
    pool->parallel_for(pack_blocks, pack);
  } else {
    pack(0, pack_blocks);
  }

  const int64_t q_blocks = (s.n_q + kQueryBlock - 1) / kQueryBlock;
  auto run = [&](int64_t t0, int64_t t1) {
    thread_local ScratchVector<uint16_t> pb;
    thread_local ScratchVector<float> scores, ob;
    thread_local std::vector<float> inv_sum(kQueryBlock);
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
      // This head's Q rows as bf16, unscaled (the scale is applied in the softmax), stride hq.
      const uint16_t* qh = qbf + i0 * hq + h * d;
      // S[i, j] for the visible keys, panel by panel.
      const uint16_t* kh = kp + kvh * k_panel_elems;
      for (int64_t p = 0; p * kPanelRows < visible; ++p) {
        const int64_t cols = std::min(kPanelRows, visible - p * kPanelRows);
        kern.panel_product(qh, hq, rows, kh + p * kPanelRows * d, d, cols, nullptr,
                           scores.data() + p * kPanelRows, s_stride);
      }
      const int64_t reduce = round_up(visible, 2);
      // P = e^(S − max) unnormalised in bf16; each output row is divided by its sum below
      // (d values instead of n_kv probabilities per row).
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t n = s.causal ? std::min(s.n_kv, s.q_offset + i0 + i + 1) : s.n_kv;
        uint16_t* prow = pb.data() + i * n_pad;
        inv_sum[static_cast<size_t>(i)] =
            1.f / kern.softmax_numerators_bf16(scores.data() + i * s_stride, n, s.scale, prow);
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
