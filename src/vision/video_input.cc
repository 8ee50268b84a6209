#include "vision/video_input.h"

#include <cstring>

#include "vision/video_sampling.h"

namespace ivl::vision {

Result<VideoTiles> load_video_tiles(const std::string& path, const VideoOptions& options) {
  if (options.num_segments < 1 || options.num_segments > 1024) {
    return Status::invalid_argument("num_segments must be in 1..1024, got " +
                                    std::to_string(options.num_segments));
  }
  IVL_ASSIGN_OR_RETURN(auto reader, VideoReader::open(path, options.limits));
  VideoTiles out;
  out.frame_count = reader->frame_count();
  out.fps = reader->average_fps();
  FrameSampling sampling;
  sampling.bound = options.bound;
  sampling.fps = out.fps;
  sampling.max_frame = out.frame_count - 1;
  sampling.num_segments = options.num_segments;
  IVL_RETURN_IF_ERROR(check_frame_sampling(sampling).with_context(path));
  out.frame_indices = sample_frame_indices(sampling);
  IVL_ASSIGN_OR_RETURN(auto frames, reader->read_frames(out.frame_indices));

  TilingOptions tiling;
  tiling.image_size = options.image_size;
  tiling.min_num = 1;
  tiling.max_num = 1;
  tiling.use_thumbnail = true;
  tiling.resize = options.resize;
  out.tiles.tile_size = options.image_size;
  out.tiles.num_tiles = static_cast<int>(frames.size());
  out.tiles.tiles.resize(out.tiles.tile_bytes() * frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    IVL_ASSIGN_OR_RETURN(TiledImage t, tile_image(frames[i], tiling));
    std::memcpy(out.tiles.tiles.data() + out.tiles.tile_bytes() * i, t.tiles.data(),
                out.tiles.tile_bytes());
    out.timestamps.push_back(reader->frame_time(out.frame_indices[i]));
    out.tiles_per_frame.push_back(t.num_tiles);
  }
  out.prompt_prefix = video_prompt_prefix(static_cast<int>(frames.size()));
  return out;
}

}  // namespace ivl::vision
