#include "ops/linear.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "core/half.h"
#include "core/simd_dispatch.h"

namespace ivl::ops {
namespace {

// Lane-wise accumulation: each of the 16 lanes is an independent sum, so the compiler may
// vectorise without reassociating (no -ffast-math needed).
inline float dot(const float* a, const float* b, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int l = 0; l < 16; ++l) acc[l] += a[i + l] * b[i + l];
  }
  float tail = 0.f;
  for (; i < n; ++i) tail += a[i] * b[i];
  float s = 0.f;
  for (int l = 0; l < 16; ++l) s += acc[l];
  return s + tail;
}

constexpr int64_t kRowBlock = 16;  // weight rows widened at once, reused for every input row

// y[i, r0:r1] for every input row i, from the widened weight rows wbuf[r1 - r0, in].
IVL_SIMD_CLONES
void block_product(const float* x, int64_t n, int64_t in, int64_t out, const float* wbuf,
                   int64_t r0, int64_t r1, const float* bias, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = x + i * in;
    float* yi = y + i * out;
    for (int64_t r = r0; r < r1; ++r) {
      float v = dot(xi, wbuf + (r - r0) * in, in);
      yi[r] = bias != nullptr ? v + bias[r] : v;
    }
  }
}

}  // namespace

IVL_SIMD_CLONES
void widen_row(const std::byte* src, DType dtype, int64_t count, float* dst) {
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(count) * 4);
      return;
    case DType::kBF16: {
      for (int64_t i = 0; i < count; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    }
    case DType::kF16: {
      for (int64_t i = 0; i < count; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = f16_to_f32(h);
      }
      return;
    }
    default:
      IVL_CHECK_MSG(false, "widen_row: unsupported dtype");
  }
}

void linear(const float* x, int64_t n, const Matrix& w, const float* bias, float* y,
            ThreadPool* pool) {
  if (w.layout != MatrixLayout::kRows) {
    packed_linear(x, n, w, bias, y, pool);
    return;
  }
  const int64_t blocks = (w.out + kRowBlock - 1) / kRowBlock;
  auto run = [&](int64_t b0, int64_t b1) {
    thread_local std::vector<float> wbuf;  // grows once per thread, then reused
    if (wbuf.size() < static_cast<size_t>(kRowBlock * w.in))
      wbuf.resize(static_cast<size_t>(kRowBlock * w.in));
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * kRowBlock, r1 = std::min(w.out, r0 + kRowBlock);
      for (int64_t r = r0; r < r1; ++r) {
        const float* direct = nullptr;
        if (w.dtype == DType::kF32) direct = reinterpret_cast<const float*>(w.row(r));
        float* dst = wbuf.data() + (r - r0) * w.in;
        if (direct != nullptr) {
          std::memcpy(dst, direct, static_cast<size_t>(w.in) * 4);
        } else {
          widen_row(w.row(r), w.dtype, w.in, dst);
        }
      }
      block_product(x, n, w.in, w.out, wbuf.data(), r0, r1, bias, y);
    }
  };
  if (pool != nullptr) {
    pool->parallel_for(blocks, run);
  } else {
    run(0, blocks);
  }
}

IVL_SIMD_CLONES
void gemm_nt(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             int64_t m, int64_t n, int64_t k, float alpha) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = alpha * dot(a + i * lda, b + j * ldb, k);
  }
}

IVL_SIMD_CLONES
void gemm_nn(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             int64_t m, int64_t n, int64_t k) {
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    std::fill(ci, ci + n, 0.f);
    for (int64_t p = 0; p < k; ++p) {
      const float av = a[i * lda + p];
      const float* bp = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) ci[j] += av * bp[j];
    }
  }
}

}  // namespace ivl::ops
