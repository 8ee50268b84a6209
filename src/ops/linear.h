// Dense products with float32 activations and float32 accumulation.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "ops/matrix.h"

namespace ivl::ops {

// y[n, w.out] = x[n, w.in] · wᵀ + bias (bias may be null). Parallel over output rows.
// kRows: weights of dtype BF16/F16 are widened to float32 on the fly (exactly); float32 math.
// Packed layouts (ops/packed_formats.h): bf16 panels — activations are rounded to bf16 and
// multiplied with vdpbf16ps with float32 accumulation; quantized rows (q8_0, q4_0) — each
// activation row is quantized to int8 blocks of 32 (quantize_activation) and multiplied with
// integer dot products per block, scaled and summed in float32.
void linear(const float* x, int64_t n, const Matrix& w, const float* bias, float* y,
            ThreadPool* pool);

// linear() for w.layout != kRows.
void packed_linear(const float* x, int64_t n, const Matrix& w, const float* bias, float* y,
                   ThreadPool* pool);

// c[m, n] = alpha · a[m, k] · b[n, k]ᵀ, all float32 with row strides lda/ldb/ldc.
void gemm_nt(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             int64_t m, int64_t n, int64_t k, float alpha);

// c[m, n] = a[m, k] · b[k, n], all float32 with row strides; c is overwritten.
void gemm_nn(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             int64_t m, int64_t n, int64_t k);

// Widens one row of `count` elements of `dtype` to float32.
void widen_row(const std::byte* src, DType dtype, int64_t count, float* dst);

}  // namespace ivl::ops
