// IVL_SIMD_CLONES: compiles a hot, auto-vectorisable function for AVX-512 (x86-64-v4), AVX2+FMA
// (x86-64-v3) and the baseline, and lets the loader pick the best once per process (GCC
// function multi-versioning through an ifunc resolver) — no per-call dispatch cost.
// Hand-written SIMD kernels (issue 5) use the same once-at-start-up rule.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define IVL_SIMD_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define IVL_SIMD_CLONES
#endif
