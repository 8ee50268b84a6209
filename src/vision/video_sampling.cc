#include "vision/video_sampling.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace ivl::vision {
namespace {

// Python round() / np.round(): half to even. std::nearbyint honours the current rounding
// mode, which is round-to-nearest-even unless someone changed it; we do not rely on that.
double round_half_even(double x) {
  double r = std::round(x);  // half away from zero
  if (std::fabs(x - std::trunc(x)) == 0.5) r = 2.0 * std::round(x / 2.0);
  return r;
}

}  // namespace

Status check_frame_sampling(const FrameSampling& s) {
  if (!(std::fabs(s.fps) <= kMaxFramesPerSecond)) {  // also NaN
    return Status::invalid_argument("the video's frame rate is not a number within ±4e9");
  }
  if (s.bound) {
    for (const double t : {s.bound->first, s.bound->second}) {
      if (!(std::fabs(t) <= kMaxBoundSeconds)) {  // also NaN
        return Status::invalid_argument("a video bound must be a finite time within ±1e9 seconds");
      }
    }
  }
  return Status();
}

std::vector<int64_t> sample_frame_indices(const FrameSampling& s) {
  IVL_CHECK(check_frame_sampling(s).ok());
  std::vector<int64_t> out;
  if (s.num_segments < 1) return out;
  const double start = s.bound ? s.bound->first : -100000.0;
  const double end = s.bound ? s.bound->second : 100000.0;
  const auto start_idx =
      std::max<int64_t>(s.first_idx, static_cast<int64_t>(round_half_even(start * s.fps)));
  const auto end_idx =
      std::min<int64_t>(static_cast<int64_t>(round_half_even(end * s.fps)), s.max_frame);
  const double seg = static_cast<double>(end_idx - start_idx) / s.num_segments;
  out.reserve(s.num_segments);
  for (int k = 0; k < s.num_segments; ++k) {
    const double v = static_cast<double>(start_idx) + seg / 2 + round_half_even(seg * k);
    out.push_back(static_cast<int64_t>(v));  // int(): truncation toward zero
  }
  return out;
}

std::string video_prompt_prefix(int num_frames) {
  std::string out;
  for (int i = 0; i < num_frames; ++i) out += "Frame" + std::to_string(i + 1) + ": <image>\n";
  return out;
}

}  // namespace ivl::vision
