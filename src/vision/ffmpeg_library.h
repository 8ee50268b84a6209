// FFmpeg, loaded with dlopen when the first video is opened instead of linked into the program.
//
// Linked, FFmpeg's four libraries bring ~120 more shared libraries (every codec, TLS, fonts,
// hardware decoders) into every process that uses the engine: ~20 MiB of resident pages (measured
// in `internvl bench`, 2026-12-03) and the dynamic linking of all of them at start, for image and
// text requests that never touch a video. Loaded on demand, they cost nothing until a video
// arrives. The headers are still the ones the project is compiled against, so the libraries are
// opened by the major versions those headers declare (libavformat.so.59 with FFmpeg 5.1).
#pragma once

#include "ivl/status.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

namespace ivl::vision {

// Every FFmpeg function the video reader calls, with the library that exports it.
#define IVL_FFMPEG_FUNCTIONS(X)             \
  X(avutil, av_strerror)                    \
  X(avutil, av_log_set_level)               \
  X(avutil, av_frame_alloc)                 \
  X(avutil, av_frame_free)                  \
  X(avutil, av_image_alloc)                 \
  X(avutil, av_freep)                       \
  X(avcodec, av_packet_alloc)               \
  X(avcodec, av_packet_free)                \
  X(avcodec, av_packet_unref)               \
  X(avcodec, avcodec_alloc_context3)        \
  X(avcodec, avcodec_free_context)          \
  X(avcodec, avcodec_parameters_to_context) \
  X(avcodec, avcodec_open2)                 \
  X(avcodec, avcodec_send_packet)           \
  X(avcodec, avcodec_receive_frame)         \
  X(avcodec, avcodec_flush_buffers)         \
  X(avformat, avformat_open_input)          \
  X(avformat, avformat_find_stream_info)    \
  X(avformat, avformat_close_input)         \
  X(avformat, av_find_best_stream)          \
  X(avformat, av_read_frame)                \
  X(avformat, av_seek_frame)                \
  X(swscale, sws_getCachedContext)          \
  X(swscale, sws_scale)                     \
  X(swscale, sws_freeContext)

// The loaded functions, each a pointer of the function's own type.
struct FfmpegLibrary {
#define IVL_FFMPEG_POINTER(library, name) decltype(&::name) name = nullptr;
  IVL_FFMPEG_FUNCTIONS(IVL_FFMPEG_POINTER)
#undef IVL_FFMPEG_POINTER
};

// Loads FFmpeg once (thread-safe) and returns its functions, or kUnsupported naming the library
// or function that could not be found and the Debian packages that provide them. The libraries
// stay loaded for the life of the process.
Result<const FfmpegLibrary*> ffmpeg_library();

}  // namespace ivl::vision
