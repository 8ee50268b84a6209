// ops::linear for the packed layouts: bf16 panels, plain or compact (GEMM and GEMV through one
// panel kernel each), and the quantized rows (activations quantized to int8 blocks of 32, then
// the integer GEMV for one row, the integer GEMM for more). Quantized matrices are row segments
// (ops/matrix.h): the kernels run over each segment's part of a thread's rows.
#include <algorithm>
#include <vector>

#include "core/thread_scratch.h"
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

// Activation rows quantized by quantize_activation, per calling thread, grown once: no
// allocation per call after warm-up.
struct QuantizedActivations {
  ScratchVector<int8_t> xq;
  ScratchVector<float> dx;
  ScratchVector<int32_t> xsum;
};

QuantizedActivations& quantize_rows_of(const float* x, int64_t n, int64_t k, ThreadPool* pool,
                                       const PackedKernels& kern) {
  thread_local QuantizedActivations q;
  const int64_t nb = k / kQuantBlock;
  if (q.xq.size() < static_cast<size_t>(n * k)) q.xq.resize(static_cast<size_t>(n * k));
  if (q.dx.size() < static_cast<size_t>(n * nb)) {
    q.dx.resize(static_cast<size_t>(n * nb));
    q.xsum.resize(static_cast<size_t>(n * nb));
  }
  // Plain pointers: inside the loop body on a worker, `q` would name the worker's own copy.
  int8_t* xq = q.xq.data();
  float* dx = q.dx.data();
  int32_t* xsum = q.xsum.data();
  auto run = [&](int64_t r0, int64_t r1) {
    kern.quantize_rows(x + r0 * k, r1 - r0, k, xq + r0 * k, dx + r0 * nb, xsum + r0 * nb);
  };
  if (pool != nullptr && n > 16) {
    pool->parallel_for(n, run);
  } else {
    run(0, n);
  }
  return q;
}

// Up to this many activation rows, the integer GEMV runs once per row instead of the GEMM:
// the GEMM re-lays every 32 weight rows before using them, which only pays off over more rows.
// Measured (kernels_bench BM_Gemm/*/llm_rows*, 2 threads, 896 -> 9728): 2 rows 0.28 / 0.24 ms
// (q8_0 / q4_0) by GEMV against 0.37 / 0.33 by GEMM; 4 rows 0.51 / 0.40 against 0.40 / 0.41.
constexpr int64_t kGemvRowsMax = 2;
// Weight rows per GEMV chunk when several activation rows share it: ~60 KB of q8_0 at K = 896,
// still in L2 when the next activation row reads it.
constexpr int64_t kGemvChunkRows = 64;

// The integer GEMV (few rows) or GEMM over each thread's rows of w, segment by segment.
void quantized_linear(const float* x, int64_t n, const Matrix& w, const float* bias, float* y,
                      ThreadPool* pool, const PackedKernels& kern) {
  const int64_t k = w.in, nb = k / kQuantBlock;
  const QuantizedActivations& q = quantize_rows_of(x, n, k, pool, kern);
  const int8_t* xq = q.xq.data();
  const float* dx = q.dx.data();
  const int32_t* xsum = q.xsum.data();
  // The q8_0 and q4_0 kernels share their signatures: pick the pair once.
  const bool q8 = w.layout == MatrixLayout::kQ8_0;
  const auto gemv_kernel = q8 ? kern.q8_0_gemv : kern.q4_0_gemv;
  const auto gemm_kernel = q8 ? kern.q8_0_gemm : kern.q4_0_gemm;
  const size_t row_bytes = w.row_bytes();
  const bool gemv = n <= kGemvRowsMax;
  auto run = [&](int64_t r0, int64_t r1) {
    for_each_run(w, r0, r1, [&](const std::byte* rows, int64_t first, int64_t count) {
      const float* b = bias != nullptr ? bias + first : nullptr;
      if (!gemv) {
        gemm_kernel(xq, dx, xsum, n, rows, k, count, b, y + first, w.out);
        return;
      }
      // One activation row: one call over the thread's rows, so the kernel lays out the
      // activations once rather than once per 64 rows (measured, 2 threads, weights from
      // DRAM: q4_0 GEMVs 1-29 % faster, the 896-wide lm_head most; q8_0 5-8 %).
      const int64_t chunk_rows = n == 1 ? count : kGemvChunkRows;
      for (int64_t c = 0; c < count; c += chunk_rows) {
        const std::byte* chunk = rows + static_cast<size_t>(c) * row_bytes;
        const int64_t cn = std::min(chunk_rows, count - c);
        for (int64_t i = 0; i < n; ++i) {
          gemv_kernel(xq + i * k, dx + i * nb, xsum + i * nb, chunk, k, cn,
                      b != nullptr ? b + c : nullptr, y + i * w.out + first + c);
        }
      }
    });
  };
  if (pool == nullptr) {
    run(0, w.out);
  } else if (gemv) {
    pool->parallel_for(w.out, run, kGemvChunkRows);
  } else {
    // Whole 32-row panels of the GEMM per thread (its kernel works 32 rows at a time).
    const int64_t panels = panel_count(w.out);
    pool->parallel_for(panels, [&](int64_t p0, int64_t p1) {
      run(p0 * kPanelRows, std::min(p1 * kPanelRows, w.out));
    });
  }
}

}  // namespace

void packed_linear(const float* x, int64_t n, const Matrix& w, const float* bias, float* y,
                   ThreadPool* pool) {
  const PackedKernels& kern = active_kernels();
  const int64_t k = w.in;
  if (is_quantized_rows(w.layout)) {
    quantized_linear(x, n, w, bias, y, pool, kern);
    return;
  }
  // Activations as bf16, grown once per calling thread. The row stride is padded by one cache
  // line: with K a multiple of 2048 (InternViT's fc2, K = 4096) the 12 rows of a register tile
  // would otherwise map to one L1 set (8 ways) and evict each other.
  const int64_t lda = k + 32;
  thread_local ScratchVector<uint16_t> a;
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
  const int64_t panels = panel_count(w.out);
  const bool compact = w.layout == MatrixLayout::kBF16Compact;
  const size_t compact_bytes = compact ? compact_panel_bytes(k) : 0;
  auto run = [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t r0 = p * kPanelRows, cols = std::min(kPanelRows, w.out - r0);
      const float* b = bias != nullptr ? bias + r0 : nullptr;
      if (compact) {
        kern.compact_panel_product(ap, lda, n, w.packed + static_cast<size_t>(p) * compact_bytes,
                                   compact_exceptions(w, p), k, cols, b, y + r0, w.out);
      } else {
        kern.panel_product(ap, lda, n, reinterpret_cast<const uint16_t*>(w.packed) + r0 * k, k,
                           cols, b, y + r0, w.out);
      }
    }
  };
  if (pool != nullptr) {
    pool->parallel_for(panels, run);
  } else {
    run(0, panels);
  }
}

}  // namespace ivl::ops
