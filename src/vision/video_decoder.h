// VideoReader: frame-accurate random access to the frames of a video file, as InternVL's
// reference reads them with decord (`vr[i]` = the i-th frame in presentation order, converted
// to RGB24).
//
// How (FFmpeg's libavformat/libavcodec/libswscale; the recipe of deps-and-limits section 2.9):
// open() demuxes the whole video stream once, without decoding, and sorts the packets'
// timestamps, so frame index -> presentation timestamp is exact even with B-frames or a
// variable frame rate; read_frames() seeks to the keyframe at or before each wanted frame,
// decodes until the frame with that timestamp comes out, and converts it with swscale
// (SWS_BICUBIC, the flags of FFmpeg's default scale filter that decord goes through).
// Consecutive wanted frames inside one GOP are decoded without seeking again.
//
// Optional component: FFmpeg as Debian builds it is GPL. With the CMake option IVL_VIDEO=OFF
// this header still compiles, video_support_compiled() is false and open() returns
// kUnsupported. Frame sampling (video_sampling.h) never needs FFmpeg.
//
// Limits: frame size is checked against max_pixels from the stream header before decoding;
// the demux pass stops with kOutOfRange past max_frames packets.
// Side effect: the first open() lowers FFmpeg's global log level to fatal-only (FFmpeg would
// otherwise print decoder chatter on stderr for every damaged file).
// Thread safety: one VideoReader must be used by one thread at a time; separate readers are
// independent.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ivl/status.h"
#include "vision/decode.h"
#include "vision/image.h"

namespace ivl::vision {

struct VideoLimits {
  uint64_t max_pixels = kDefaultMaxPixels;  // per frame
  int64_t max_frames = 10'000'000;          // packets of the video stream
};

bool video_support_compiled();

class VideoReader {
 public:
  // kNotFound / kIoError for an unreadable file, kCorruptData / kUnsupported when FFmpeg
  // finds no decodable video stream, kOutOfRange over a limit. Messages name the path.
  static Result<std::unique_ptr<VideoReader>> open(const std::string& path,
                                                   const VideoLimits& limits = {});
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  int64_t frame_count() const;  // decord len(vr): frames found by the demux pass
  double average_fps() const;   // decord get_avg_fps(): avg_frame_rate, else r_frame_rate
  int width() const;
  int height() const;
  // Presentation time of frame `index` in seconds from the first frame (0 <= index < count).
  double frame_time(int64_t index) const;

  // The frames at `indices` (any order, repeats allowed), in the order asked. kOutOfRange for
  // an index outside [0, frame_count), kCorruptData when the stream cannot be decoded there.
  Result<std::vector<RgbImage>> read_frames(std::span<const int64_t> indices);

  struct Impl;

 private:
  explicit VideoReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ivl::vision
