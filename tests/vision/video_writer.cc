#include "vision/video_writer.h"

#include <cstring>
#include <stdexcept>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}

namespace ivl::vision::test {
namespace {

void check(int r, const char* what) {
  if (r < 0) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(r, buf, sizeof(buf));
    throw std::runtime_error(std::string(what) + ": " + buf);
  }
}

void drain(AVCodecContext* ctx, AVFormatContext* oc, AVStream* st, AVPacket* pkt) {
  for (;;) {
    int r = avcodec_receive_packet(ctx, pkt);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
    check(r, "receive packet");
    av_packet_rescale_ts(pkt, ctx->time_base, st->time_base);
    pkt->stream_index = st->index;
    check(av_interleaved_write_frame(oc, pkt), "write packet");
  }
}

}  // namespace

void write_test_video(const VideoSpec& s, const std::function<RgbImage(int)>& make_frame) {
  AVFormatContext* oc = nullptr;
  check(avformat_alloc_output_context2(&oc, nullptr, nullptr, s.path.c_str()), "output context");
  const AVCodec* codec = avcodec_find_encoder_by_name(s.codec.c_str());
  if (codec == nullptr) throw std::runtime_error("no encoder " + s.codec);
  AVStream* st = avformat_new_stream(oc, nullptr);
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  ctx->width = s.width;
  ctx->height = s.height;
  ctx->time_base = {1, s.fps};
  ctx->framerate = {s.fps, 1};
  ctx->gop_size = s.gop;
  ctx->max_b_frames = s.max_b_frames;
  const bool lossless = s.codec == "ffv1";
  ctx->pix_fmt = lossless ? AV_PIX_FMT_0RGB32 : AV_PIX_FMT_YUV420P;
  if (!lossless) {
    ctx->flags |= AV_CODEC_FLAG_QSCALE;
    ctx->global_quality = FF_QP2LAMBDA * 2;
  }
  if (oc->oformat->flags & AVFMT_GLOBALHEADER) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  check(avcodec_open2(ctx, codec, nullptr), "open encoder");
  check(avcodec_parameters_from_context(st->codecpar, ctx), "codec parameters");
  st->time_base = ctx->time_base;
  check(avio_open(&oc->pb, s.path.c_str(), AVIO_FLAG_WRITE), "open file");
  check(avformat_write_header(oc, nullptr), "write header");

  SwsContext* sws = sws_getContext(s.width, s.height, AV_PIX_FMT_RGB24, s.width, s.height,
                                   ctx->pix_fmt, SWS_BICUBIC, nullptr, nullptr, nullptr);
  AVFrame* frame = av_frame_alloc();
  frame->format = ctx->pix_fmt;
  frame->width = s.width;
  frame->height = s.height;
  check(av_frame_get_buffer(frame, 0), "frame buffer");
  AVPacket* pkt = av_packet_alloc();
  for (int i = 0; i < s.frames; ++i) {
    const RgbImage img = make_frame(i);
    if (img.width() != s.width || img.height() != s.height) {
      throw std::runtime_error("write_test_video: frame size differs from VideoSpec");
    }
    check(av_frame_make_writable(frame), "writable frame");
    // swscale's SIMD reads past the end of packed source rows: give it a padded copy.
    const size_t padded = (img.stride() + 63) / 64 * 64 + 64;
    std::vector<uint8_t> buffer(padded * static_cast<size_t>(s.height + 1));
    for (int y = 0; y < s.height; ++y) {
      std::memcpy(buffer.data() + padded * y, img.row(y), img.stride());
    }
    const uint8_t* src[1] = {buffer.data()};
    const int stride[1] = {static_cast<int>(padded)};
    sws_scale(sws, src, stride, 0, s.height, frame->data, frame->linesize);
    frame->pts = i;
    check(avcodec_send_frame(ctx, frame), "send frame");
    drain(ctx, oc, st, pkt);
  }
  check(avcodec_send_frame(ctx, nullptr), "flush");
  drain(ctx, oc, st, pkt);
  check(av_write_trailer(oc), "trailer");
  av_packet_free(&pkt);
  av_frame_free(&frame);
  sws_freeContext(sws);
  avcodec_free_context(&ctx);
  avio_closep(&oc->pb);
  avformat_free_context(oc);
}

RgbImage index_pattern(int index, int width, int height) {
  RgbImage img(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const int bit = x * 8 / width;
      std::memset(img.row(y) + 3 * x, (index >> bit) & 1 ? 235 : 16, 3);
    }
  }
  return img;
}

int read_index_pattern(const RgbImage& img) {
  int index = 0;
  for (int bit = 0; bit < 8; ++bit) {
    const int x = (2 * bit + 1) * img.width() / 16;
    if (img.row(img.height() / 2)[3 * x + 1] > 128) index |= 1 << bit;
  }
  return index;
}

}  // namespace ivl::vision::test
