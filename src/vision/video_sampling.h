// Which frames of a video InternVL looks at: the official `get_index` (InternVL README,
// load_video; spec section 2.7), and the per-frame prompt prefix. Needs no video library.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ivl/status.h"

namespace ivl::vision {

struct FrameSampling {
  std::optional<std::pair<double, double>> bound;  // (start, end) in seconds; none = whole video
  double fps = 0;                                  // the reader's average frame rate
  int64_t max_frame = 0;                           // number of frames - 1
  int64_t first_idx = 0;
  int num_segments = 32;  // the function's default; model cards use 8
};

// get_index(bound, fps, max_frame, first_idx, num_segments):
//   start_idx = max(first_idx, round(start * fps)); end_idx = min(round(end * fps), max_frame)
//   seg = (end_idx - start_idx) / num_segments
//   idx_k = int(start_idx + seg / 2 + np.round(seg * k))
// with Python/NumPy round-half-to-even and int() truncation toward zero. Without a bound
// start, end = -100000, 100000 as in the official code. num_segments < 1 gives no frames.
// Requires check_frame_sampling(s) to pass.
std::vector<int64_t> sample_frame_indices(const FrameSampling& s);

// kInvalidArgument unless the bound is finite with |start|, |end| ≤ kMaxBoundSeconds and
// |fps| ≤ kMaxFramesPerSecond (FFmpeg's rates are at most 2^31 − 1): then every index get_index
// computes, at most 4e18 in magnitude, fits an int64 (a NaN or 1e300 would make its
// float-to-integer conversions undefined).
inline constexpr double kMaxBoundSeconds = 1e9;
inline constexpr double kMaxFramesPerSecond = 4e9;
Status check_frame_sampling(const FrameSampling& s);

// "Frame1: <image>\nFrame2: <image>\n..." for `num_frames` frames: the prefix the InternVL
// 2/2.5/3/3.5 model cards put before the question.
std::string video_prompt_prefix(int num_frames);

}  // namespace ivl::vision
