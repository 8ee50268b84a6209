// Pillow's bicubic resize, bit for bit: `PIL.Image.resize((w, h))` on an RGB image (Pillow's
// default filter for RGB is BICUBIC), as InternVL's dynamic_preprocess calls it.
//
// The algorithm (Pillow src/libImaging/Resample.c, reproduced exactly; see pil_resample.h):
// Keys cubic with a = -0.5 and support 2, widened by the scale factor when shrinking;
// per-output-pixel weights normalised in double, then turned into 22-bit fixed point with
// sign-aware rounding; a horizontal pass first into an 8-bit intermediate holding only the
// source rows the vertical pass reads, then the vertical pass; each pass runs only when its
// dimension changes (a same-size resize is a copy). Accumulators start at 1 << 21 and results
// are clamped to 0..255 after an arithmetic shift by 22.
//
// Kernels: the scalar kernel is always compiled and is the oracle; an AVX-512 kernel (exact
// same integer arithmetic, 32-bit lanes) is used when the CPU has AVX-512 F+BW+VL, decided once
// per process. Every kernel gives identical bytes (tests check this on random sizes).
//
// Thread safety: resize_bicubic is reentrant; with threads > 1 it starts that many worker
// threads for the call and joins them before returning.
#pragma once

#include <string_view>

#include "vision/image.h"

namespace ivl::vision {

enum class ResizeKernel { kAuto, kScalar, kAvx512 };

struct ResizeOptions {
  ResizeKernel kernel = ResizeKernel::kAuto;  // kAuto: the best kernel this CPU supports
  int threads = 1;                            // rows are split across this many threads
};

// The kernel kAuto resolves to on this machine (probed once, then cached).
ResizeKernel best_resize_kernel();
bool resize_kernel_available(ResizeKernel kernel);
std::string_view resize_kernel_name(ResizeKernel kernel);

// Pillow `image.resize((width, height), Image.BICUBIC)`. Preconditions (checked, abort on
// violation: callers size images themselves): src is not empty, width >= 1, height >= 1, and
// a requested kernel is available.
RgbImage resize_bicubic(const RgbImage& src, int width, int height,
                        const ResizeOptions& options = {});

// Pillow `image.crop((x, y, x + width, y + height))` for a box inside the image (checked).
RgbImage crop(const RgbImage& src, int x, int y, int width, int height);

}  // namespace ivl::vision
