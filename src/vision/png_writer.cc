#include "vision/png_writer.h"

#include <png.h>

#include <cstdio>
#include <cstring>
#include <fstream>

namespace ivl::vision {
namespace {

struct WriteState {
  std::vector<std::byte>* out;
  char message[256];
};

void on_error(png_structp png, png_const_charp msg) {
  auto* s = static_cast<WriteState*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof(s->message), "%s", msg);
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

void on_write(png_structp png, png_bytep data, png_size_t length) {
  auto* s = static_cast<WriteState*>(png_get_io_ptr(png));
  const auto* b = reinterpret_cast<const std::byte*>(data);
  s->out->insert(s->out->end(), b, b + length);  // std::bad_alloc would escape; see below
}
void on_flush(png_structp) {}

// All C++ objects live in the caller; the only frames a longjmp skips are libpng's.
bool write_impl(const RgbImage& image, WriteState* state) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, state, on_error, on_warning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png)) != 0) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, state, on_write, on_flush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width()),
               static_cast<png_uint_32>(image.height()), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < image.height(); ++y) png_write_row(png, image.row(y));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

Result<std::vector<std::byte>> encode_png(const RgbImage& image) {
  if (image.empty()) return Status::invalid_argument("cannot encode an empty image as PNG");
  std::vector<std::byte> out;
  // Reserve the worst case (raw size + zlib/PNG overhead) up front so the write callback
  // never reallocates (an allocation failure inside it must not unwind through libpng).
  out.reserve(image.size_bytes() + image.size_bytes() / 1000 +
              static_cast<size_t>(image.height()) * 8 + 65536);
  WriteState state{&out, {}};
  if (!write_impl(image, &state)) {
    return Status::internal(std::string("libpng failed to encode: ") + state.message);
  }
  return out;
}

Status write_png_file(const RgbImage& image, const std::string& path) {
  IVL_ASSIGN_OR_RETURN(auto bytes, encode_png(image));
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::io_error(path + ": cannot open for writing");
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) return Status::io_error(path + ": write failed");
  return Status::ok_status();
}

}  // namespace ivl::vision
