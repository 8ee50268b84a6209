// A video as InternVL's reference load_video() prepares it: get_index() picks the frames,
// each frame is tiled with dynamic_preprocess(max_num = 1, use_thumbnail = True), which gives
// exactly one S x S bicubic-resized tile per frame (no thumbnail: one block), and the prompt
// gets one "FrameN: <image>\n" line per frame.
// Needs FFmpeg (IVL_VIDEO=ON); otherwise returns kUnsupported. Reentrant.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ivl/status.h"
#include "vision/preprocess.h"
#include "vision/video_decoder.h"

namespace ivl::vision {

struct VideoOptions {
  int num_segments = 8;                            // frames to sample (model card example: 8)
  std::optional<std::pair<double, double>> bound;  // (start, end) seconds
  int image_size = 448;
  ResizeOptions resize;
  VideoLimits limits;
};

struct VideoTiles {
  int64_t frame_count = 0;
  double fps = 0;
  std::vector<int64_t> frame_indices;  // get_index() result, one per segment
  std::vector<double> timestamps;      // seconds, presentation time of each sampled frame
  TiledImage tiles;                    // [num_segments, S, S, 3]; tiles.grid is (1, 1)
  std::vector<int> tiles_per_frame;    // num_patches_list: all 1
  std::string prompt_prefix;           // "Frame1: <image>\n..."
};

Result<VideoTiles> load_video_tiles(const std::string& path, const VideoOptions& options);

}  // namespace ivl::vision
