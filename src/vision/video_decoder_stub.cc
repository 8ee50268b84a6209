// VideoReader when the project is configured with IVL_VIDEO=OFF (no FFmpeg): every open()
// says so. See video_decoder.h.
#include "vision/video_decoder.h"

namespace ivl::vision {

struct VideoReader::Impl {};

bool video_support_compiled() {
  return false;
}

Result<std::unique_ptr<VideoReader>> VideoReader::open(const std::string& path,
                                                       const VideoLimits&) {
  return Status::unsupported(path +
                             ": video support is not compiled in (configure with -DIVL_VIDEO=ON "
                             "and FFmpeg's libavformat/libavcodec/libswscale installed)");
}

VideoReader::VideoReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoReader::~VideoReader() = default;
int64_t VideoReader::frame_count() const {
  return 0;
}
double VideoReader::average_fps() const {
  return 0;
}
int VideoReader::width() const {
  return 0;
}
int VideoReader::height() const {
  return 0;
}
double VideoReader::frame_time(int64_t) const {
  return 0;
}
Result<std::vector<RgbImage>> VideoReader::read_frames(std::span<const int64_t>) {
  return Status::unsupported("video support is not compiled in");
}

}  // namespace ivl::vision
