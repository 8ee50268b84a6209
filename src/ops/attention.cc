#include "ops/attention.h"

#include <algorithm>
#include <vector>

#include "core/simd_dispatch.h"
#include "core/thread_scratch.h"
#include "ops/elementwise.h"
#include "ops/packed_kernels.h"

namespace ivl::ops {
namespace {

// o[d] = sum_j p[j] * v[j, d]. Accumulates 16 columns at a time in registers, four keys in
// flight, so the loop is bound by loads and FMAs rather than by a store-reload chain.
IVL_SIMD_CLONES
void weighted_sum(const float* p, int64_t n, const float* v, int64_t stride, int64_t d, float* o) {
  int64_t c = 0;
  for (; c + 16 <= d; c += 16) {
    float acc[4][16] = {};
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
      for (int u = 0; u < 4; ++u) {
        const float pj = p[j + u];
        const float* vj = v + (j + u) * stride + c;
        for (int l = 0; l < 16; ++l) acc[u][l] += pj * vj[l];
      }
    }
    for (; j < n; ++j) {
      const float* vj = v + j * stride + c;
      for (int l = 0; l < 16; ++l) acc[0][l] += p[j] * vj[l];
    }
    for (int l = 0; l < 16; ++l) o[c + l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]);
  }
  for (; c < d; ++c) {
    float acc = 0.f;
    for (int64_t j = 0; j < n; ++j) acc += p[j] * v[j * stride + c];
    o[c] = acc;
  }
}

// dst[d, j] = src[j, d] for j < rows, d < cols.
void transpose(const float* src, int64_t stride, int64_t rows, int64_t cols, float* dst) {
  for (int64_t j = 0; j < rows; ++j) {
    for (int64_t d = 0; d < cols; ++d) dst[d * rows + j] = src[j * stride + d];
  }
}

// scores[i, j] = scale · Σ_d q[i, d] · kt[d, j] for j < visible (row stride n_kv).
IVL_SIMD_CLONES
void scaled_scores(const float* q, int64_t q_stride, int64_t rows, const float* kt, int64_t n_kv,
                   int64_t visible, int64_t head_dim, float scale, float* scores) {
  for (int64_t i = 0; i < rows; ++i) {
    float* si = scores + i * n_kv;
    std::fill(si, si + visible, 0.f);
    for (int64_t d = 0; d < head_dim; ++d) {
      const float qd = q[i * q_stride + d] * scale;
      const float* kd = kt + d * n_kv;
      for (int64_t j = 0; j < visible; ++j) si[j] += qd * kd[j];
    }
  }
}

// Few query rows without the blocked keys: one dot product per key straight from the key
// rows — transposing K (the block path's first step) would cost as much as the whole product
// for a single query. (The decoder passes the cache's position-blocked keys and takes
// PackedKernels::decode_attention instead.)
IVL_SIMD_CLONES
void few_queries(const float* q, const float* k, const float* v, float* out,
                 const AttentionShape& s, int64_t h, float* scores) {
  const int64_t d = s.head_dim, kvh = h / (s.n_heads / s.n_kv_heads);
  for (int64_t i = 0; i < s.n_q; ++i) {
    const float* qi = q + i * s.q_stride + h * d;
    const int64_t n = s.causal ? std::min(s.n_kv, s.q_offset + i + 1) : s.n_kv;
    for (int64_t j = 0; j < n; ++j) {
      const float* kj = k + j * s.kv_stride + kvh * d;
      float acc[16] = {};
      int64_t c = 0;
      for (; c + 16 <= d; c += 16) {
        for (int l = 0; l < 16; ++l) acc[l] += qi[c + l] * kj[c + l];
      }
      float dot = 0.f;
      for (; c < d; ++c) dot += qi[c] * kj[c];
      for (float a : acc) dot += a;
      scores[j] = dot * s.scale;
    }
    softmax_row(scores, n);
    weighted_sum(scores, n, v + kvh * d, s.kv_stride, d, out + i * s.out_stride + h * d);
  }
}

}  // namespace

void attention(const float* q, const float* k, const float* v, float* out, const AttentionShape& s,
               ThreadPool* pool) {
  if (s.bf16 && s.head_dim % 2 == 0) {
    attention_bf16(q, k, v, out, s, pool);
    return;
  }
  if (s.n_q <= 4 && s.kt != nullptr) {
    // Decode: one task per (query row, key/value head), the head's query group together.
    const PackedKernels& kern = active_kernels();
    const int64_t group = s.n_heads / s.n_kv_heads, d = s.head_dim;
    auto run = [&](int64_t t0, int64_t t1) {
      thread_local ScratchVector<float> scores;
      const auto needed = static_cast<size_t>(group * std::max(s.n_kv, s.kv_capacity));
      if (scores.size() < needed) scores.resize(needed);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t i = t / s.n_kv_heads, kvh = t % s.n_kv_heads;
        const int64_t n = s.causal ? std::min(s.n_kv, s.q_offset + i + 1) : s.n_kv;
        kern.decode_attention(q + i * s.q_stride + kvh * group * d, group, d,
                              s.kt + kvh * d * kKeyBlock, s.kt_block_stride, v + kvh * d,
                              s.kv_stride, n, s.scale, scores.data(),
                              out + i * s.out_stride + kvh * group * d);
      }
    };
    if (pool != nullptr) {
      pool->parallel_for(s.n_q * s.n_kv_heads, run);
    } else {
      run(0, s.n_q * s.n_kv_heads);
    }
    return;
  }
  if (s.n_q <= 4) {
    auto run = [&](int64_t h0, int64_t h1) {
      thread_local ScratchVector<float> scores;
      if (scores.size() < static_cast<size_t>(s.n_kv)) scores.resize(static_cast<size_t>(s.n_kv));
      for (int64_t h = h0; h < h1; ++h) few_queries(q, k, v, out, s, h, scores.data());
    };
    if (pool != nullptr) {
      pool->parallel_for(s.n_heads, run);
    } else {
      run(0, s.n_heads);
    }
    return;
  }
  constexpr int64_t kBlock = 32;  // query rows per task
  const int64_t q_blocks = (s.n_q + kBlock - 1) / kBlock;
  const int64_t group = s.n_heads / s.n_kv_heads;
  auto run = [&](int64_t t0, int64_t t1) {
    thread_local ScratchVector<float> scores, kt;
    if (scores.size() < static_cast<size_t>(kBlock * s.n_kv))
      scores.resize(static_cast<size_t>(kBlock * s.n_kv));
    if (kt.size() < static_cast<size_t>(s.head_dim * s.n_kv))
      kt.resize(static_cast<size_t>(s.head_dim * s.n_kv));
    int64_t kt_head = -1;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t h = t / q_blocks, qb = t % q_blocks;
      const int64_t i0 = qb * kBlock, i1 = std::min(s.n_q, i0 + kBlock);
      const int64_t kvh = h / group;
      const float* qh = q + i0 * s.q_stride + h * s.head_dim;
      const float* vh = v + kvh * s.head_dim;
      const int64_t visible = s.causal ? std::min(s.n_kv, s.q_offset + i1) : s.n_kv;
      if (kt_head != kvh) {  // K of this head transposed to [D, n_kv]: the score loop then
        kt_head = kvh;       // runs along keys, contiguous and vectorisable for any head_dim
        transpose(k + kvh * s.head_dim, s.kv_stride, s.n_kv, s.head_dim, kt.data());
      }
      scaled_scores(qh, s.q_stride, i1 - i0, kt.data(), s.n_kv, visible, s.head_dim, s.scale,
                    scores.data());
      for (int64_t i = i0; i < i1; ++i) {
        float* row = scores.data() + (i - i0) * s.n_kv;
        const int64_t n = s.causal ? std::min(s.n_kv, s.q_offset + i + 1) : s.n_kv;
        softmax_row(row, n);
        weighted_sum(row, n, vh, s.kv_stride, s.head_dim, out + i * s.out_stride + h * s.head_dim);
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
