#include "vision/pil_resize.h"

#include <cstring>
#include <thread>
#include <vector>

#include "core/check.h"
#include "vision/pil_resample.h"

namespace ivl::vision {
namespace {

using detail::PassArgs;
using detail::ResampleCoeffs;

// Splits [0, rows) into `threads` contiguous chunks and runs fn(begin, end) on each, the
// last chunk on the calling thread. Small jobs stay on one thread (a thread start costs more).
template <typename Fn>
void parallel_rows(int rows, int threads, Fn fn) {
  constexpr int kMinRowsPerThread = 16;
  if (threads > rows / kMinRowsPerThread) threads = rows / kMinRowsPerThread;
  if (threads <= 1) {
    fn(0, rows);
    return;
  }
  std::vector<std::thread> workers;
  workers.reserve(threads - 1);
  for (int t = 0; t < threads - 1; ++t) {
    const int begin = static_cast<int>(int64_t{rows} * t / threads);
    const int end = static_cast<int>(int64_t{rows} * (t + 1) / threads);
    workers.emplace_back([=] { fn(begin, end); });
  }
  fn(static_cast<int>(int64_t{rows} * (threads - 1) / threads), rows);
  for (auto& w : workers) w.join();
}

ResizeKernel resolve(ResizeKernel kernel) {
  if (kernel == ResizeKernel::kAuto) return best_resize_kernel();
  IVL_CHECK_MSG(resize_kernel_available(kernel), "resize kernel not available on this CPU");
  return kernel;
}

// Pillow ImagingResampleInner for one image.
RgbImage resample(const RgbImage& src, int width, int height, ResizeKernel kernel, int threads) {
  const bool need_horizontal = width != src.width();
  const bool need_vertical = height != src.height();
  if (!need_horizontal && !need_vertical) return src;  // Image.resize returns a copy

  const ResampleCoeffs vert = detail::compute_bicubic_coeffs(src.height(), height);
  // Source rows the vertical pass reads: Pillow's ybox_first .. ybox_last.
  const int ybox_first = vert.first[0];
  const int ybox_last = vert.first[height - 1] + vert.count[height - 1];
  const bool simd = kernel == ResizeKernel::kAvx512;

  const RgbImage* stage = &src;
  int stage_row_offset = 0;
  RgbImage temp;
  if (need_horizontal) {
    const ResampleCoeffs horiz = detail::compute_bicubic_coeffs(src.width(), width);
    temp = RgbImage(width, ybox_last - ybox_first);
    PassArgs args{src.data(), src.stride(), temp.data(), temp.stride(), ybox_first, width, &horiz};
    if (simd) {
      const detail::ExpandedCoeffs expanded = detail::expand_coeffs_avx512(horiz);
      parallel_rows(temp.height(), threads,
                    [&](int b, int e) { detail::horizontal_pass_avx512(args, expanded, b, e); });
    } else {
      parallel_rows(temp.height(), threads,
                    [&](int b, int e) { detail::horizontal_pass_scalar(args, b, e); });
    }
    stage = &temp;
    stage_row_offset = ybox_first;
  }
  if (!need_vertical) return temp;

  RgbImage out(stage->width(), height);
  PassArgs args{stage->data(),    stage->stride(), out.data(), out.stride(),
                stage_row_offset, stage->width(),  &vert};
  parallel_rows(height, threads, [&](int b, int e) {
    if (simd) {
      detail::vertical_pass_avx512(args, b, e);
    } else {
      detail::vertical_pass_scalar(args, b, e);
    }
  });
  return out;
}

}  // namespace

ResizeKernel best_resize_kernel() {
  static const ResizeKernel kBest =
      detail::cpu_has_avx512() ? ResizeKernel::kAvx512 : ResizeKernel::kScalar;
  return kBest;
}

bool resize_kernel_available(ResizeKernel kernel) {
  switch (kernel) {
    case ResizeKernel::kAuto:
    case ResizeKernel::kScalar:
      return true;
    case ResizeKernel::kAvx512:
      return detail::cpu_has_avx512();
  }
  return false;
}

std::string_view resize_kernel_name(ResizeKernel kernel) {
  switch (kernel) {
    case ResizeKernel::kAuto:
      return "auto";
    case ResizeKernel::kScalar:
      return "scalar";
    case ResizeKernel::kAvx512:
      return "avx512";
  }
  return "?";
}

RgbImage resize_bicubic(const RgbImage& src, int width, int height, const ResizeOptions& options) {
  IVL_CHECK(!src.empty() && width >= 1 && height >= 1);
  const ResizeKernel kernel = resolve(options.kernel);
  const int threads = options.threads < 1 ? 1 : options.threads;
  // Recent Pillow (Image.resize) shrinks a very tall image (height > 100 x width) in two
  // steps, height first, when the height is reduced (InternVL spec section 2.4).
  if (src.height() > int64_t{src.width()} * 100 && height < src.height()) {
    RgbImage step = resample(src, src.width(), height, kernel, threads);
    return resample(step, width, height, kernel, threads);
  }
  return resample(src, width, height, kernel, threads);
}

RgbImage crop(const RgbImage& src, int x, int y, int width, int height) {
  IVL_CHECK(x >= 0 && y >= 0 && width >= 0 && height >= 0 && x + width <= src.width() &&
            y + height <= src.height());
  RgbImage out(width, height);
  for (int r = 0; r < height; ++r) {
    std::memcpy(out.row(r), src.row(y + r) + static_cast<size_t>(x) * 3, out.stride());
  }
  return out;
}

}  // namespace ivl::vision
