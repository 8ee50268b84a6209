// WebP through libwebp. A still image is decoded straight to RGB (libwebp's MODE_RGB output
// equals the colour channels Pillow's RGBA decode keeps; alpha is dropped as convert("RGB")
// drops it). An animated file gives its first frame as Pillow's WebPImagePlugin does: the
// animation decoder's first canvas (frame composed on a cleared canvas), alpha dropped.
#include <webp/decode.h>
#include <webp/demux.h>

#include <memory>

#include "vision/decode_internal.h"

namespace ivl::vision::detail {
namespace {

Status webp_status(VP8StatusCode code) {
  switch (code) {
    case VP8_STATUS_OK:
      return Status::ok_status();
    case VP8_STATUS_NOT_ENOUGH_DATA:
      return Status::corrupt("truncated WebP data (the file ends before the image is complete)");
    case VP8_STATUS_OUT_OF_MEMORY:
      return Status::resource_exhausted("libwebp ran out of memory");
    case VP8_STATUS_UNSUPPORTED_FEATURE:
      return Status::unsupported("WebP feature not supported by libwebp");
    case VP8_STATUS_INVALID_PARAM:
    case VP8_STATUS_BITSTREAM_ERROR:
    case VP8_STATUS_SUSPENDED:
    case VP8_STATUS_USER_ABORT:
      break;
  }
  return Status::corrupt("invalid WebP data (libwebp status " + std::to_string(code) + ")");
}

struct AnimDecoderDeleter {
  void operator()(WebPAnimDecoder* d) const { WebPAnimDecoderDelete(d); }
};

Result<RgbImage> decode_first_frame(std::span<const std::byte> bytes) {
  WebPData data{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
  WebPAnimDecoderOptions options;
  if (!WebPAnimDecoderOptionsInit(&options)) return Status::internal("libwebp version mismatch");
  options.color_mode = MODE_RGBA;
  options.use_threads = 0;
  std::unique_ptr<WebPAnimDecoder, AnimDecoderDeleter> decoder(WebPAnimDecoderNew(&data, &options));
  if (decoder == nullptr) return Status::corrupt("invalid animated WebP data");
  WebPAnimInfo info;
  if (!WebPAnimDecoderGetInfo(decoder.get(), &info) || info.frame_count == 0) {
    return Status::corrupt("animated WebP without frames");
  }
  uint8_t* canvas = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(decoder.get(), &canvas, &timestamp) || canvas == nullptr) {
    return Status::corrupt("the first frame of the animated WebP could not be decoded");
  }
  RgbImage image(static_cast<int>(info.canvas_width), static_cast<int>(info.canvas_height));
  const size_t pixels = static_cast<size_t>(image.width()) * image.height();
  uint8_t* dst = image.data();
  for (size_t i = 0; i < pixels; ++i) {
    dst[3 * i] = canvas[4 * i];
    dst[3 * i + 1] = canvas[4 * i + 1];
    dst[3 * i + 2] = canvas[4 * i + 2];
  }
  return image;
}

}  // namespace

Result<RgbImage> decode_webp(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  WebPBitstreamFeatures features;
  IVL_RETURN_IF_ERROR(webp_status(WebPGetFeatures(data, bytes.size(), &features)));
  IVL_RETURN_IF_ERROR(check_dimensions("WebP", features.width, features.height, limits));
  if (features.has_animation) return decode_first_frame(bytes);

  RgbImage image(features.width, features.height);
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) return Status::internal("libwebp version mismatch");
  config.output.colorspace = MODE_RGB;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = image.data();
  config.output.u.RGBA.stride = static_cast<int>(image.stride());
  config.output.u.RGBA.size = image.size_bytes();
  VP8StatusCode code = WebPDecode(data, bytes.size(), &config);
  WebPFreeDecBuffer(&config.output);  // frees nothing for external memory; required by the API
  IVL_RETURN_IF_ERROR(webp_status(code));
  return image;
}

}  // namespace ivl::vision::detail
