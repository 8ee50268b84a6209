// Normalisations and activations over rows of float32 activations (spec §3.2, §5, §9).
// All reductions are in float32 (as the reference computes them in float32).
#pragma once

#include <cstdint>

namespace ivl::ops {

// x[n, d] -> y[n, d]: (x - mean) / sqrt(var + eps) * weight + bias (biased variance, as
// torch.nn.LayerNorm). y may alias x.
void layer_norm(const float* x, int64_t n, int64_t d, const float* weight, const float* bias,
                float eps, float* y);

// x[n, d] -> y[n, d]: x / sqrt(mean(x²) + eps) * weight. y may alias x.
void rms_norm(const float* x, int64_t n, int64_t d, const float* weight, float eps, float* y);

// Exact GELU, 0.5·x·(1 + erf(x/√2)), in place over count elements.
void gelu_erf(float* x, int64_t count);

// SwiGLU: gate[i] = silu(gate[i]) · up[i], over count elements.
void silu_mul(float* gate, const float* up, int64_t count);

// y[i] += x[i]
void add_inplace(float* y, const float* x, int64_t count);

// y[n, d] += scale[d] ⊙ x[n, d]  (InternViT layer scale)
void add_scaled_rows(float* y, const float* x, const float* scale, int64_t n, int64_t d);

// Rounds every element to the nearest bfloat16 (kept as float32).
void round_bf16_inplace(float* x, int64_t count);

// Softmax over one row, in place, numerically stable (max subtracted).
void softmax_row(float* x, int64_t n);

// log Σ e^x[i] over x[0, n) (n ≥ 1), numerically stable (max subtracted); x is not modified.
// Finite x only (the caller's logits are checked first).
float log_sum_exp(const float* x, int64_t n);

// The numerators of a softmax over scale·x[0, n) (scale > 0): out[i] = bf16(e^(scale·(x[i] −
// max x))); returns their float32 sum (the caller divides by it afterwards — attention scales
// the output rows instead of n probabilities). x is not modified.
float softmax_numerators_bf16(const float* x, int64_t n, float scale, uint16_t* out);

}  // namespace ivl::ops
