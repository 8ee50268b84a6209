#include "ops/attention.h"

#include <algorithm>
#include <vector>

#include "ops/elementwise.h"
#include "ops/linear.h"

namespace ivl::ops {

void attention(const float* q, const float* k, const float* v, float* out, const AttentionShape& s,
               ThreadPool* pool) {
  constexpr int64_t kBlock = 32;  // query rows per task
  const int64_t q_blocks = (s.n_q + kBlock - 1) / kBlock;
  const int64_t group = s.n_heads / s.n_kv_heads;
  auto run = [&](int64_t t0, int64_t t1) {
    thread_local std::vector<float> scores;
    if (scores.size() < static_cast<size_t>(kBlock * s.n_kv))
      scores.resize(static_cast<size_t>(kBlock * s.n_kv));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t h = t / q_blocks, qb = t % q_blocks;
      const int64_t i0 = qb * kBlock, i1 = std::min(s.n_q, i0 + kBlock);
      const int64_t kvh = h / group;
      const float* qh = q + i0 * s.q_stride + h * s.head_dim;
      const float* kh = k + kvh * s.head_dim;
      const float* vh = v + kvh * s.head_dim;
      const int64_t visible = s.causal ? std::min(s.n_kv, s.q_offset + i1) : s.n_kv;
      gemm_nt(qh, s.q_stride, kh, s.kv_stride, scores.data(), s.n_kv, i1 - i0, visible, s.head_dim,
              s.scale);
      for (int64_t i = i0; i < i1; ++i) {
        float* row = scores.data() + (i - i0) * s.n_kv;
        const int64_t n = s.causal ? std::min(s.n_kv, s.q_offset + i + 1) : s.n_kv;
        softmax_row(row, n);
        float* o = out + i * s.out_stride + h * s.head_dim;
        std::fill(o, o + s.head_dim, 0.f);
        for (int64_t j = 0; j < n; ++j) {
          const float p = row[j];
          const float* vj = vh + j * s.kv_stride;
          for (int64_t d = 0; d < s.head_dim; ++d) o[d] += p * vj[d];
        }
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
