// ops::linear for the packed layouts: bf16 panels (GEMM and GEMV through one panel kernel),
// and the quantized rows (integer GEMV for one row, dequantized panels for more).
#include <algorithm>
#include <vector>

#include "core/check.h"
#include "ops/linear.h"
#include "ops/packed_formats.h"
#include "ops/packed_kernels.h"

namespace ivl::ops {
namespace {

void quantized_gemv(const float* x, const Matrix& w, const float* bias, float* y, ThreadPool* pool,
                    const PackedKernels& kern) {
  const int64_t k = w.in, nb = k / kQuantBlock;
  // Per calling thread, grown once: no allocation per token.
  thread_local std::vector<int8_t> xq;
  thread_local std::vector<float> dx;
  thread_local std::vector<int32_t> xsum;
  if (xq.size() < static_cast<size_t>(k)) xq.resize(static_cast<size_t>(k));
  if (dx.size() < static_cast<size_t>(nb)) {
    dx.resize(static_cast<size_t>(nb));
    xsum.resize(static_cast<size_t>(nb));
  }
  quantize_activation(x, k, xq.data(), dx.data(), xsum.data());
  const size_t row_bytes = quant_row_bytes(w.layout, k);
  const int8_t* xqp = xq.data();
  const float* dxp = dx.data();
  const int32_t* xsp = xsum.data();
  auto run = [&](int64_t r0, int64_t r1) {
    const std::byte* rows = w.packed + static_cast<size_t>(r0) * row_bytes;
    const float* b = bias != nullptr ? bias + r0 : nullptr;
    if (w.layout == MatrixLayout::kQ8_0) {
      kern.q8_0_gemv(xqp, dxp, rows, k, r1 - r0, b, y + r0);
    } else {
      kern.q4_0_gemv(xqp, dxp, xsp, rows, k, r1 - r0, b, y + r0);
    }
  };
  if (pool != nullptr) {
    pool->parallel_for(w.out, run, 64);
  } else {
    run(0, w.out);
  }
}

}  // namespace

void packed_linear(const float* x, int64_t n, const Matrix& w, const float* bias, float* y,
                   ThreadPool* pool) {
  const PackedKernels& kern = active_kernels();
  const int64_t k = w.in;
  const bool quantized = w.layout == MatrixLayout::kQ8_0 || w.layout == MatrixLayout::kQ4_0;
  if (quantized && n == 1) {
    quantized_gemv(x, w, bias, y, pool, kern);
    return;
  }
  thread_local std::vector<uint16_t> a;  // activations as bf16, grown once per calling thread
  if (a.size() < static_cast<size_t>(n * k)) a.resize(static_cast<size_t>(n * k));
  uint16_t* ap = a.data();
  auto convert = [&](int64_t r0, int64_t r1) { to_bf16(x + r0 * k, (r1 - r0) * k, ap + r0 * k); };
  if (pool != nullptr && n > 16) {
    pool->parallel_for(n, convert);
  } else {
    convert(0, n);
  }
  const int64_t panels = (w.out + kPanelRows - 1) / kPanelRows;
  const size_t row_bytes = quantized ? quant_row_bytes(w.layout, k) : 0;
  auto run = [&](int64_t p0, int64_t p1) {
    thread_local std::vector<uint16_t> scratch;  // one dequantized panel
    if (quantized && scratch.size() < static_cast<size_t>(kPanelRows * k))
      scratch.resize(static_cast<size_t>(kPanelRows * k));
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t r0 = p * kPanelRows, cols = std::min(kPanelRows, w.out - r0);
      const uint16_t* panel;
      if (quantized) {
        kern.dequantize_panel(w.packed + static_cast<size_t>(r0) * row_bytes, w.layout, k, cols,
                              scratch.data());
        panel = scratch.data();
      } else {
        panel = reinterpret_cast<const uint16_t*>(w.packed) + r0 * k;
      }
      kern.panel_product(ap, k, n, panel, k, cols, bias != nullptr ? bias + r0 : nullptr, y + r0,
                         w.out);
    }
  };
  if (pool != nullptr) {
    pool->parallel_for(panels, run);
  } else {
    run(0, panels);
  }
}

}  // namespace ivl::ops
