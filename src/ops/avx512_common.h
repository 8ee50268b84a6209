// Internal to ops/: what the AVX-512 kernel files share — the target attribute they compile
// their functions with (so the binary stays portable and runs them only after the CPU check),
// the CPU check itself, and vector math helpers. Include only under
// `defined(__x86_64__) && defined(__GNUC__)`.
#pragma once

#include <immintrin.h>

#include <cstdint>

#define IVL_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vnni,f16c,fma")))

namespace ivl::ops {

// Every feature any IVL_AVX512 function uses.
inline bool cpu_has_avx512_kernel_features() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vnni") &&
         __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
}

// e^x for x ≤ 0, 16 lanes: the same range reduction and degree-6 polynomial as the scalar
// exp_nonpositive in ops/elementwise.cc (relative error < 2e-7), 2^k applied with vscalefps.
IVL_AVX512 inline __m512 exp_nonpositive16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.f));
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.428606765330187e-06f), r);
  __m512 p = _mm512_set1_ps(1.f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  return _mm512_scalef_ps(p, k);
}

// Lanes [0, count) of a 16-lane vector (count clamped to [0, 16]).
IVL_AVX512 inline __mmask16 first_lanes(int64_t count) {
  return count >= 16 ? __mmask16{0xffff}
                     : static_cast<__mmask16>(count <= 0 ? 0u : (1u << count) - 1);
}

// Defined in decode_attention_avx512.cc; see PackedKernels::decode_attention.
void decode_attention_avx512(const float* q, int64_t groups, int64_t d, const float* kt,
                             int64_t kt_block_stride, const float* v, int64_t v_stride, int64_t n,
                             float scale, float* scores, float* out);

}  // namespace ivl::ops
