// VideoReader on FFmpeg (see video_decoder.h for the method and its contract).
#include <algorithm>
#include <cstring>
#include <mutex>

#include "vision/decode_internal.h"
#include "vision/ffmpeg_library.h"
#include "vision/video_decoder.h"

namespace ivl::vision {
namespace {

std::string av_error_text(const FfmpegLibrary& ff, int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  ff.av_strerror(code, buf, sizeof(buf));
  return buf;
}

constexpr int64_t kNoPosition = INT64_MIN;

}  // namespace

bool video_support_compiled() {
  return true;
}

struct VideoReader::Impl {
  explicit Impl(const FfmpegLibrary& library) : ff(library) {}
  const FfmpegLibrary& ff;
  std::string path;
  VideoLimits limits;
  AVFormatContext* fmt = nullptr;
  AVCodecContext* codec = nullptr;
  SwsContext* sws = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  int stream_index = -1;
  double fps = 0;
  int width = 0, height = 0;
  std::vector<int64_t> pts;      // presentation timestamps, sorted: frame index -> pts
  std::vector<int64_t> key_pts;  // keyframe timestamps, sorted
  double time_base = 0;
  int64_t position = kNoPosition;  // pts of the last decoded frame since the last seek
  bool eof_sent = false;
  uint8_t* rgb[4] = {};  // padded swscale output (swscale may write past a packed row)
  int rgb_linesize[4] = {};
  int rgb_w = 0, rgb_h = 0;

  ~Impl() {
    if (rgb[0] != nullptr) ff.av_freep(&rgb[0]);
    ff.sws_freeContext(sws);
    ff.av_frame_free(&frame);
    ff.av_packet_free(&packet);
    ff.avcodec_free_context(&codec);
    ff.avformat_close_input(&fmt);
  }

  Status error(StatusCode code, const std::string& what) const {
    return Status(code, path + ": " + what);
  }

  Status open_stream() {
    int r = ff.avformat_open_input(&fmt, path.c_str(), nullptr, nullptr);
    if (r < 0) {
      return error(r == AVERROR(ENOENT) ? StatusCode::kNotFound : StatusCode::kCorruptData,
                   "cannot open as a video (" + av_error_text(ff, r) + ")");
    }
    r = ff.avformat_find_stream_info(fmt, nullptr);
    if (r < 0)
      return error(StatusCode::kCorruptData,
                   "no stream information (" + av_error_text(ff, r) + ")");
    const AVCodec* decoder = nullptr;
    stream_index = ff.av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
    if (stream_index < 0 || decoder == nullptr) {
      return error(stream_index == AVERROR_DECODER_NOT_FOUND ? StatusCode::kUnsupported
                                                             : StatusCode::kCorruptData,
                   "no decodable video stream");
    }
    AVStream* st = fmt->streams[stream_index];
    width = st->codecpar->width;
    height = st->codecpar->height;
    Status dims = detail::check_dimensions("video frame", width, height, {limits.max_pixels});
    if (!dims.ok()) return dims.with_context(path);
    AVRational rate = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate
                                                                               : st->r_frame_rate;
    fps = rate.den > 0 ? av_q2d(rate) : 0;
    time_base = av_q2d(st->time_base);
    codec = ff.avcodec_alloc_context3(decoder);
    packet = ff.av_packet_alloc();
    frame = ff.av_frame_alloc();
    if (codec == nullptr || packet == nullptr || frame == nullptr) {
      return error(StatusCode::kResourceExhausted, "FFmpeg allocation failed");
    }
    r = ff.avcodec_parameters_to_context(codec, st->codecpar);
    if (r >= 0) {
      codec->thread_count = 1;  // frame threads would only add latency to single-frame reads
      r = ff.avcodec_open2(codec, decoder, nullptr);
    }
    if (r < 0)
      return error(StatusCode::kUnsupported,
                   "cannot open the decoder (" + av_error_text(ff, r) + ")");
    return Status::ok_status();
  }

  // One demux pass: every packet timestamp of the stream (frame index -> pts), keyframes apart.
  Status index_frames() {
    for (;;) {
      int r = ff.av_read_frame(fmt, packet);
      if (r < 0) break;  // end of file, or damage past which nothing can be read
      if (packet->stream_index == stream_index) {
        int64_t ts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
        if (ts != AV_NOPTS_VALUE) {
          pts.push_back(ts);
          if (packet->flags & AV_PKT_FLAG_KEY) key_pts.push_back(ts);
        }
      }
      ff.av_packet_unref(packet);
      if (static_cast<int64_t>(pts.size()) > limits.max_frames) {
        return error(StatusCode::kOutOfRange,
                     "more than " + std::to_string(limits.max_frames) + " video frames");
      }
    }
    if (pts.empty()) return error(StatusCode::kCorruptData, "the video stream holds no frames");
    std::sort(pts.begin(), pts.end());
    pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
    std::sort(key_pts.begin(), key_pts.end());
    return Status::ok_status();
  }

  void seek(int64_t ts) {
    if (ff.av_seek_frame(fmt, stream_index, ts, AVSEEK_FLAG_BACKWARD) < 0) {
      ff.av_seek_frame(fmt, stream_index, 0, AVSEEK_FLAG_BYTE);  // fall back to the start
    }
    ff.avcodec_flush_buffers(codec);
    eof_sent = false;
    position = kNoPosition;
  }

  // Next decoded frame into `frame`; false at the end of the stream.
  bool decode_next() {
    for (;;) {
      int r = ff.avcodec_receive_frame(codec, frame);
      if (r == 0) return true;
      if (r != AVERROR(EAGAIN)) return false;  // AVERROR_EOF or a decoder failure
      if (ff.av_read_frame(fmt, packet) < 0) {
        if (eof_sent) return false;
        ff.avcodec_send_packet(codec, nullptr);  // drain the delayed frames
        eof_sent = true;
        continue;
      }
      if (packet->stream_index == stream_index) {
        ff.avcodec_send_packet(codec, packet);  // a damaged packet is skipped, as decord does
      }
      ff.av_packet_unref(packet);
    }
  }

  int64_t keyframe_at_or_before(int64_t target) const {
    auto it = std::upper_bound(key_pts.begin(), key_pts.end(), target);
    return it == key_pts.begin() ? pts.front() : *(it - 1);
  }

  Result<RgbImage> to_rgb() {
    const int w = frame->width, h = frame->height;
    Status dims = detail::check_dimensions("video frame", w, h, {limits.max_pixels});
    if (!dims.ok()) return dims.with_context(path);
    sws = ff.sws_getCachedContext(sws, w, h, static_cast<AVPixelFormat>(frame->format), w, h,
                                  AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr, nullptr);
    if (sws == nullptr) return error(StatusCode::kUnsupported, "cannot convert this pixel format");
    if (w != rgb_w || h != rgb_h) {
      if (rgb[0] != nullptr) ff.av_freep(&rgb[0]);
      if (ff.av_image_alloc(rgb, rgb_linesize, w, h + 1, AV_PIX_FMT_RGB24, 64) < 0) {
        return error(StatusCode::kResourceExhausted, "cannot allocate a frame buffer");
      }
      rgb_w = w;
      rgb_h = h;
    }
    ff.sws_scale(sws, frame->data, frame->linesize, 0, h, rgb, rgb_linesize);
    RgbImage image(w, h);
    for (int y = 0; y < h; ++y) {
      std::memcpy(image.row(y), rgb[0] + static_cast<size_t>(y) * rgb_linesize[0], image.stride());
    }
    return image;
  }

  Result<RgbImage> read_frame(int64_t index) {
    const int64_t target = pts[static_cast<size_t>(index)];
    const int64_t key = keyframe_at_or_before(target);
    // Keep decoding forward when the target lies in the GOP we are in; seek otherwise.
    if (position == kNoPosition || position >= target || key > position) seek(key);
    bool retried = false;
    for (;;) {
      if (!decode_next()) {
        if (!retried) {  // the seek landed past the frame: decode from the very start
          retried = true;
          seek(pts.front());
          continue;
        }
        return error(StatusCode::kCorruptData,
                     "frame " + std::to_string(index) + " could not be decoded");
      }
      const int64_t got = frame->best_effort_timestamp != AV_NOPTS_VALUE
                              ? frame->best_effort_timestamp
                              : frame->pts;
      const bool first_after_seek = position == kNoPosition;
      position = got;
      if (got == target) return to_rgb();
      if (got > target) {
        if (first_after_seek && !retried) {
          retried = true;
          seek(pts.front());
          continue;
        }
        return error(StatusCode::kCorruptData,
                     "frame " + std::to_string(index) + " is missing from the decoded stream");
      }
    }
  }
};

Result<std::unique_ptr<VideoReader>> VideoReader::open(const std::string& path,
                                                       const VideoLimits& limits) {
  auto library = ffmpeg_library();
  if (!library.ok()) return library.status().with_context(path);
  const FfmpegLibrary& ff = **library;
  static std::once_flag quiet;
  std::call_once(quiet, [&ff] { ff.av_log_set_level(AV_LOG_FATAL); });
  auto impl = std::make_unique<Impl>(ff);
  impl->path = path;
  impl->limits = limits;
  IVL_RETURN_IF_ERROR(impl->open_stream());
  IVL_RETURN_IF_ERROR(impl->index_frames());
  impl->seek(impl->pts.front());
  return std::unique_ptr<VideoReader>(new VideoReader(std::move(impl)));
}

VideoReader::VideoReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoReader::~VideoReader() = default;

int64_t VideoReader::frame_count() const {
  return static_cast<int64_t>(impl_->pts.size());
}
double VideoReader::average_fps() const {
  return impl_->fps;
}
int VideoReader::width() const {
  return impl_->width;
}
int VideoReader::height() const {
  return impl_->height;
}

double VideoReader::frame_time(int64_t index) const {
  return static_cast<double>(impl_->pts.at(static_cast<size_t>(index)) - impl_->pts.front()) *
         impl_->time_base;
}

Result<std::vector<RgbImage>> VideoReader::read_frames(std::span<const int64_t> indices) {
  for (int64_t i : indices) {
    if (i < 0 || i >= frame_count()) {
      return Status::out_of_range(impl_->path + ": frame index " + std::to_string(i) +
                                  " outside 0.." + std::to_string(frame_count() - 1));
    }
  }
  // Decode in ascending order (one forward sweep), then hand the frames back as asked.
  std::vector<int64_t> order(indices.begin(), indices.end());
  std::sort(order.begin(), order.end());
  order.erase(std::unique(order.begin(), order.end()), order.end());
  std::vector<RgbImage> decoded;
  decoded.reserve(order.size());
  for (int64_t i : order) {
    IVL_ASSIGN_OR_RETURN(RgbImage image, impl_->read_frame(i));
    decoded.push_back(std::move(image));
  }
  std::vector<RgbImage> out;
  out.reserve(indices.size());
  for (int64_t i : indices) {
    auto at = std::lower_bound(order.begin(), order.end(), i) - order.begin();
    out.push_back(decoded[static_cast<size_t>(at)]);
  }
  return out;
}

}  // namespace ivl::vision
