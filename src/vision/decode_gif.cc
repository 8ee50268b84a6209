// GIF through giflib, reading only up to the first image (a long animation costs nothing
// more than its first frame). The result follows Pillow's GifImagePlugin for frame 0:
//  - the image is the logical screen, grown to contain the frame if the frame sticks out;
//  - the canvas starts as the frame's transparent index when its Graphic Control Extension
//    declares one, else index 0; the frame's pixels are written as stored (transparent
//    pixels keep their index: convert("RGB") ignores transparency, it does not composite);
//  - colours come from the local colour table, else the global one; without any table the
//    index is a gray level; indices past the table read Pillow's default entry (i, i, i).
#include <gif_lib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "vision/decode_internal.h"

namespace ivl::vision::detail {
namespace {

struct Reader {
  std::span<const std::byte> bytes;
  size_t offset = 0;
};

int read_bytes(GifFileType* gif, GifByteType* out, int length) {
  auto* r = static_cast<Reader*>(gif->UserData);
  size_t n = std::min(static_cast<size_t>(length < 0 ? 0 : length), r->bytes.size() - r->offset);
  std::memcpy(out, r->bytes.data() + r->offset, n);
  r->offset += n;
  return static_cast<int>(n);
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int error = 0;
    DGifCloseFile(gif, &error);
  }
};

Status gif_error(int code, const char* what) {
  const char* text = GifErrorString(code);
  std::string msg = std::string(what) + ": " + (text != nullptr ? text : "unknown giflib error");
  if (code == D_GIF_ERR_READ_FAILED || code == D_GIF_ERR_EOF_TOO_SOON) {
    return Status::corrupt("truncated GIF data (" + msg + ")");
  }
  return Status::corrupt("invalid GIF data (" + msg + ")");
}

}  // namespace

Result<RgbImage> decode_gif(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  Reader reader{bytes, 0};
  int error = 0;
  std::unique_ptr<GifFileType, GifCloser> gif(DGifOpen(&reader, read_bytes, &error));
  if (gif == nullptr) return gif_error(error, "cannot read the GIF header");
  IVL_RETURN_IF_ERROR(check_dimensions("GIF", gif->SWidth, gif->SHeight, limits));

  int transparency = -1;
  for (;;) {
    GifRecordType type = UNDEFINED_RECORD_TYPE;
    if (DGifGetRecordType(gif.get(), &type) == GIF_ERROR) {
      return gif_error(gif->Error, "reading a record");
    }
    if (type == TERMINATE_RECORD_TYPE) return Status::corrupt("GIF file holds no image");
    if (type == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* block = nullptr;
      if (DGifGetExtension(gif.get(), &code, &block) == GIF_ERROR) {
        return gif_error(gif->Error, "reading an extension");
      }
      // giflib blocks start with their length byte: [len, flags, delay lo, delay hi, index].
      if (code == GRAPHICS_EXT_FUNC_CODE && block != nullptr && block[0] >= 4) {
        if (block[1] & 1) transparency = block[4];
      }
      while (block != nullptr) {
        if (DGifGetExtensionNext(gif.get(), &block) == GIF_ERROR) {
          return gif_error(gif->Error, "reading an extension");
        }
      }
      continue;
    }
    if (type != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) == GIF_ERROR) {
      return gif_error(gif->Error, "reading the image descriptor");
    }
    break;
  }

  const GifImageDesc& desc = gif->Image;
  const int64_t width = std::max<int64_t>(gif->SWidth, int64_t{desc.Left} + desc.Width);
  const int64_t height = std::max<int64_t>(gif->SHeight, int64_t{desc.Top} + desc.Height);
  IVL_RETURN_IF_ERROR(check_dimensions("GIF", width, height, limits));
  if (desc.Width <= 0 || desc.Height <= 0) return Status::corrupt("GIF frame is empty");

  std::array<std::array<uint8_t, 3>, 256> palette;
  for (int i = 0; i < 256; ++i) {
    auto v = static_cast<uint8_t>(i);
    palette[i] = {v, v, v};
  }
  const ColorMapObject* map = desc.ColorMap != nullptr ? desc.ColorMap : gif->SColorMap;
  if (map != nullptr) {
    for (int i = 0; i < map->ColorCount && i < 256; ++i) {
      palette[i] = {map->Colors[i].Red, map->Colors[i].Green, map->Colors[i].Blue};
    }
  }

  std::vector<GifPixelType> canvas(static_cast<size_t>(width) * height,
                                   static_cast<GifPixelType>(transparency < 0 ? 0 : transparency));
  std::vector<GifPixelType> line(static_cast<size_t>(desc.Width));
  // Interlaced frames store rows in four passes: 0, 4, 2, 1 mod 8 with steps 8, 8, 4, 2.
  static constexpr int kStart[] = {0, 4, 2, 1}, kStep[] = {8, 8, 4, 2};
  std::vector<int> order;
  order.reserve(desc.Height);
  if (desc.Interlace) {
    for (int pass = 0; pass < 4; ++pass) {
      for (int y = kStart[pass]; y < desc.Height; y += kStep[pass]) order.push_back(y);
    }
  } else {
    for (int y = 0; y < desc.Height; ++y) order.push_back(y);
  }
  for (int y : order) {
    if (DGifGetLine(gif.get(), line.data(), desc.Width) == GIF_ERROR) {
      return gif_error(gif->Error, "decoding the image data");
    }
    std::memcpy(canvas.data() + (static_cast<size_t>(desc.Top) + y) * width + desc.Left,
                line.data(), line.size());
  }

  RgbImage image(static_cast<int>(width), static_cast<int>(height));
  uint8_t* dst = image.data();
  for (size_t i = 0; i < canvas.size(); ++i) std::memcpy(dst + 3 * i, palette[canvas[i]].data(), 3);
  return image;
}

}  // namespace ivl::vision::detail
