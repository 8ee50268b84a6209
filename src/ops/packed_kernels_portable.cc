// Portable (scalar) versions of the packed kernels: the oracle the AVX-512 versions are tested
// against, and the path on CPUs without AVX-512 BF16/VNNI.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/half.h"
#include "core/simd_dispatch.h"
#include "core/thread_scratch.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/packed_formats.h"
#include "ops/packed_kernels.h"

namespace ivl::ops {
namespace {

float scale_at(const std::byte* scales, int64_t b) {
  uint16_t h;
  std::memcpy(&h, scales + 2 * b, 2);
  return f16_to_f32(h);
}

void panel_product(const uint16_t* a, int64_t lda, int64_t m, const uint16_t* panel, int64_t k,
                   int64_t cols, const float* bias, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      float acc = 0.f;
      for (int64_t p = 0; p < k; ++p) {
        const uint16_t w = panel[((p / 2) * kPanelRows + j) * 2 + p % 2];
        acc += bf16_to_f32(a[i * lda + p]) * bf16_to_f32(w);
      }
      c[i * ldc + j] = bias != nullptr ? acc + bias[j] : acc;
    }
  }
}

// The panel rebuilt whole, exceptions included: exactly panel_product on the kBF16Panels panel.
void compact_panel_product(const uint16_t* a, int64_t lda, int64_t m, const std::byte* panel,
                           CompactExceptionList exceptions, int64_t k, int64_t cols,
                           const float* bias, float* c, int64_t ldc) {
  thread_local ScratchVector<uint16_t> expanded;
  if (expanded.size() < static_cast<size_t>(kPanelRows * k)) {
    expanded.resize(static_cast<size_t>(kPanelRows * k));
  }
  expand_compact_panel(panel, k, expanded.data());
  patch_exceptions(exceptions, expanded.data());
  panel_product(a, lda, m, expanded.data(), k, cols, bias, c, ldc);
}

void q8_0_gemv(const int8_t* xq, const float* dx, const int32_t* /*xsum*/, const std::byte* rows,
               int64_t k, int64_t n, const float* bias, float* y) {
  const size_t row_bytes = quant_row_bytes(MatrixLayout::kQ8_0, k);
  const int64_t nb = k / kQuantBlock;
  for (int64_t r = 0; r < n; ++r) {
    const std::byte* row = rows + static_cast<size_t>(r) * row_bytes;
    const auto* q = reinterpret_cast<const int8_t*>(row);
    float acc = 0.f;
    for (int64_t b = 0; b < nb; ++b) {
      int32_t isum = 0;
      for (int64_t i = b * kQuantBlock; i < (b + 1) * kQuantBlock; ++i)
        isum += xq[i] * q[q8_code_offset(i, nb)];
      acc += dx[b] * scale_at(row + k, b) * static_cast<float>(isum);
    }
    y[r] = bias != nullptr ? acc + bias[r] : acc;
  }
}

void q4_0_gemv(const int8_t* xq, const float* dx, const int32_t* xsum, const std::byte* rows,
               int64_t k, int64_t n, const float* bias, float* y) {
  const size_t row_bytes = quant_row_bytes(MatrixLayout::kQ4_0, k);
  const int64_t nb = k / kQuantBlock;
  for (int64_t r = 0; r < n; ++r) {
    const std::byte* row = rows + static_cast<size_t>(r) * row_bytes;
    const auto* codes = reinterpret_cast<const uint8_t*>(row);
    float acc = 0.f;
    for (int64_t b = 0; b < nb; ++b) {
      int32_t isum = 0;
      for (int64_t i = b * kQuantBlock; i < (b + 1) * kQuantBlock; ++i) {
        bool high = false;
        const uint8_t byte = codes[q4_code_offset(i, nb, &high)];
        isum += xq[i] * (high ? byte >> 4 : byte & 0xf);
      }
      acc += dx[b] * scale_at(row + k / 2, b) * static_cast<float>(isum - 8 * xsum[b]);
    }
    y[r] = bias != nullptr ? acc + bias[r] : acc;
  }
}

void quantize_rows(const float* x, int64_t m, int64_t k, int8_t* xq, float* dx, int32_t* xsum) {
  const int64_t nb = k / kQuantBlock;
  for (int64_t i = 0; i < m; ++i)
    quantize_activation(x + i * k, k, xq + i * k, dx + i * nb, xsum + i * nb);
}

// The oracle GEMMs: the GEMV once per activation row.
void q8_0_gemm(const int8_t* xq, const float* dx, const int32_t* /*xsum*/, int64_t m,
               const std::byte* rows, int64_t k, int64_t n, const float* bias, float* c,
               int64_t ldc) {
  const int64_t nb = k / kQuantBlock;
  for (int64_t i = 0; i < m; ++i)
    q8_0_gemv(xq + i * k, dx + i * nb, nullptr, rows, k, n, bias, c + i * ldc);
}

void q4_0_gemm(const int8_t* xq, const float* dx, const int32_t* xsum, int64_t m,
               const std::byte* rows, int64_t k, int64_t n, const float* bias, float* c,
               int64_t ldc) {
  const int64_t nb = k / kQuantBlock;
  for (int64_t i = 0; i < m; ++i)
    q4_0_gemv(xq + i * k, dx + i * nb, xsum + i * nb, rows, k, n, bias, c + i * ldc);
}

// One query head at a time, straight from the definition (the AVX-512 version's oracle).
void decode_attention(const float* q, int64_t groups, int64_t d, const float* kt,
                      int64_t kt_block_stride, const float* v, int64_t v_stride, int64_t n,
                      float scale, float* scores, float* out) {
  for (int64_t g = 0; g < groups; ++g) {
    const float* qg = q + g * d;
    float* s = scores + g * n;
    std::fill(s, s + n, 0.f);
    for (int64_t c = 0; c < d; ++c) {
      for (int64_t j = 0; j < n; ++j) s[j] += qg[c] * kt[blocked_key_index(c, j, kt_block_stride)];
    }
    for (int64_t j = 0; j < n; ++j) s[j] *= scale;
    softmax_row(s, n);
    float* og = out + g * d;
    std::fill(og, og + d, 0.f);
    for (int64_t j = 0; j < n; ++j) {
      const float* vj = v + j * v_stride;
      for (int64_t c = 0; c < d; ++c) og[c] += s[j] * vj[c];
    }
  }
}

}  // namespace

void quantize_activation(const float* x, int64_t k, int8_t* xq, float* dx, int32_t* xsum) {
  for (int64_t b = 0; b < k / kQuantBlock; ++b) {
    const float* v = x + b * kQuantBlock;
    float amax = 0.f;
    bool finite = true;
    for (int64_t i = 0; i < kQuantBlock; ++i) {
      amax = std::max(amax, std::fabs(v[i]));
      finite = finite && std::isfinite(v[i]);
    }
    if (!finite) {
      std::fill(xq + b * kQuantBlock, xq + (b + 1) * kQuantBlock, int8_t{0});
      dx[b] = NAN;
      xsum[b] = 0;
      continue;
    }
    const float d = amax / 127.f;
    // A d below the smallest normal float would make 1 / d infinite (0 · inf is NaN): such a
    // block, |x| < 1.5e-36, is coded as zeros.
    const float inv = d >= FLT_MIN ? 1.f / d : 0.f;
    int32_t sum = 0;
    for (int64_t i = 0; i < kQuantBlock; ++i) {
      const auto q = static_cast<int8_t>(std::clamp(std::nearbyint(v[i] * inv), -127.f, 127.f));
      xq[b * kQuantBlock + i] = q;
      sum += q;
    }
    dx[b] = d;
    xsum[b] = sum;
  }
}

// f32_to_bf16 without its branch, so the loop vectorises: round to nearest even on the bits,
// and keep NaNs quiet NaNs.
IVL_SIMD_CLONES
void to_bf16(const float* x, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, 4);
    const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    const uint32_t nan = (bits >> 16) | 0x40u;
    out[i] = static_cast<uint16_t>((bits & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
  }
}

const PackedKernels& portable_kernels() {
  static const PackedKernels k{.name = "portable",
                               .panel_product = panel_product,
                               .compact_panel_product = compact_panel_product,
                               .q8_0_gemv = q8_0_gemv,
                               .q4_0_gemv = q4_0_gemv,
                               .quantize_rows = quantize_rows,
                               .q8_0_gemm = q8_0_gemm,
                               .q4_0_gemm = q4_0_gemm,
                               .softmax_numerators_bf16 = softmax_numerators_bf16,
                               .to_bf16 = to_bf16,
                               .decode_attention = decode_attention};
  return k;
}

const PackedKernels& active_kernels() {
  static const PackedKernels& k = []() -> const PackedKernels& {
    const char* env = std::getenv("IVL_KERNELS");
    if (env != nullptr && std::string_view(env) == "portable") return portable_kernels();
    const PackedKernels* fast = avx512_kernels();
    return fast != nullptr ? *fast : portable_kernels();
  }();
  return k;
}

}  // namespace ivl::ops
