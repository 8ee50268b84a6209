// Bicubic resize of a [H, W, C] float grid as torch.nn.functional.interpolate(mode='bicubic',
// align_corners=False) does it (Keys cubic with A = -0.75, border-clamped taps). Used to resize
// InternViT position embeddings when the tile grid differs from the checkpoint's (spec §3.1).
#pragma once

#include <cstdint>
#include <vector>

namespace ivl::ops {

std::vector<float> bicubic_resize_hwc(const float* src, int64_t in_h, int64_t in_w, int64_t c,
                                      int64_t out_h, int64_t out_w);

}  // namespace ivl::ops
