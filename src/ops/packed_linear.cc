// ops::linear for the packed layouts: bf16 panels (GEMM and GEMV through one panel kernel),
// and the quantized rows (integer GEMV for one row, dequantized panels for more). Quantized
// matrices are row segments (ops/matrix.h): the GEMV runs the kernel over each segment's part
// of a thread's rows; a panel whose 32 rows span segments is gathered first.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "ops/linear.h"
#include "ops/packed_formats.h"
#include "ops/packed_kernels.h"

namespace ivl::ops {
namespace {

// Calls fn(data, first_row, n) for the parts of rows [r0, r1) of `w` that lie in one segment
// each (data = the part's first row), in order.
template <typename Fn>
void for_each_run(const Matrix& w, int64_t r0, int64_t r1, Fn&& fn) {
  const size_t row_bytes = w.row_bytes();
  int64_t base = 0;
  for (const MatrixSegment& s : w.segments) {
    const int64_t begin = std::max(r0, base), end = std::min(r1, base + s.rows);
    if (begin < end) fn(s.data + static_cast<size_t>(begin - base) * row_bytes, begin, end - begin);
    base += s.rows;
    if (base >= r1) break;
  }
}

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
  const int8_t* xqp = xq.data();
  const float* dxp = dx.data();
  const int32_t* xsp = xsum.data();
  auto run = [&](int64_t r0, int64_t r1) {
    for_each_run(w, r0, r1, [&](const std::byte* rows, int64_t first, int64_t n) {
      const float* b = bias != nullptr ? bias + first : nullptr;
      if (w.layout == MatrixLayout::kQ8_0) {
        kern.q8_0_gemv(xqp, dxp, rows, k, n, b, y + first);
      } else {
        kern.q4_0_gemv(xqp, dxp, xsp, rows, k, n, b, y + first);
      }
    });
  };
  if (pool != nullptr) {
    pool->parallel_for(w.out, run, 64);
  } else {
    run(0, w.out);
  }
}

// Pointer to `n` consecutive quantized rows starting at r0: in place when they lie in one
// segment, else copied into `gather`.
const std::byte* panel_rows(const Matrix& w, int64_t r0, int64_t n,
                            std::vector<std::byte>& gather) {
  const std::byte* direct = nullptr;
  int64_t runs = 0;
  for_each_run(w, r0, r0 + n, [&](const std::byte* rows, int64_t, int64_t) {
    if (runs++ == 0) direct = rows;
  });
  if (runs == 1) return direct;
  const size_t row_bytes = w.row_bytes();
  if (gather.size() < static_cast<size_t>(n) * row_bytes)
    gather.resize(static_cast<size_t>(n) * row_bytes);
  for_each_run(w, r0, r0 + n, [&](const std::byte* rows, int64_t first, int64_t m) {
    std::memcpy(gather.data() + static_cast<size_t>(first - r0) * row_bytes, rows,
                static_cast<size_t>(m) * row_bytes);
  });
  return gather.data();
}

}  // namespace

void packed_linear(const float* x, int64_t n, const Matrix& w, const float* bias, float* y,
                   ThreadPool* pool) {
  const PackedKernels& kern = active_kernels();
  const int64_t k = w.in;
  const bool quantized = is_quantized_rows(w.layout);
  if (quantized && n == 1) {
    quantized_gemv(x, w, bias, y, pool, kern);
    return;
  }
  // Activations as bf16, grown once per calling thread. The row stride is padded by one cache
  // line: with K a multiple of 2048 (InternViT's fc2, K = 4096) the 12 rows of a register tile
  // would otherwise map to one L1 set (8 ways) and evict each other.
  const int64_t lda = k + 32;
  thread_local std::vector<uint16_t> a;
  if (a.size() < static_cast<size_t>(n * lda)) a.resize(static_cast<size_t>(n * lda));
  uint16_t* ap = a.data();
  auto convert = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) kern.to_bf16(x + r * k, k, ap + r * lda);
  };
  if (pool != nullptr && n > 16) {
    pool->parallel_for(n, convert);
  } else {
    convert(0, n);
  }
  const int64_t panels = (w.out + kPanelRows - 1) / kPanelRows;
  auto run = [&](int64_t p0, int64_t p1) {
    thread_local std::vector<uint16_t> scratch;  // one dequantized panel
    thread_local std::vector<std::byte> gather;  // a panel's rows taken from several segments
    if (quantized && scratch.size() < static_cast<size_t>(kPanelRows * k))
      scratch.resize(static_cast<size_t>(kPanelRows * k));
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t r0 = p * kPanelRows, cols = std::min(kPanelRows, w.out - r0);
      const uint16_t* panel;
      if (quantized) {
        kern.dequantize_panel(panel_rows(w, r0, cols, gather), w.layout, k, cols, scratch.data());
        panel = scratch.data();
      } else {
        panel = reinterpret_cast<const uint16_t*>(w.packed) + r0 * k;
      }
      kern.panel_product(ap, lda, n, panel, k, cols, bias != nullptr ? bias + r0 : nullptr, y + r0,
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
