// Test-only: writes small videos with FFmpeg's encoders so the video tests need no binary
// fixtures. FFV1 (lossless) lets a test compare decoded frames with the exact source pixels;
// MPEG-4 part 2 with B-frames exercises reordering and keyframe seeking.
#pragma once

#include <functional>
#include <string>

#include "vision/image.h"

namespace ivl::vision::test {

struct VideoSpec {
  std::string path;   // container chosen from the extension (.mkv, .mp4, .avi)
  std::string codec;  // "ffv1" or "mpeg4"
  int width = 64, height = 48;
  int frames = 30;
  int fps = 25;
  int gop = 12;
  int max_b_frames = 0;
};

// Throws std::runtime_error when FFmpeg refuses.
void write_test_video(const VideoSpec& spec, const std::function<RgbImage(int)>& frame);

// An image whose 8 vertical bands show the bits of `index` (white = 1), robust to lossy codecs.
RgbImage index_pattern(int index, int width, int height);
int read_index_pattern(const RgbImage& image);

}  // namespace ivl::vision::test
