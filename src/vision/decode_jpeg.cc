// JPEG through libjpeg-turbo's libjpeg API with the library defaults, which are Pillow's:
// Pillow's JpegDecode.c only sets out_color_space, so the ISLOW integer IDCT, fancy upsampling
// and block smoothing are the defaults here too, and the pixels match PIL bit for bit.
//
// libjpeg reports fatal errors through error_exit, which must not return: we longjmp back to
// the setjmp of the step that called libjpeg (read_header_step, decode_step). Those steps hold
// no C++ objects of their own and the jump skips only libjpeg's C frames, so no destructor is
// bypassed; everything with a destructor lives in decode_jpeg(), outside any setjmp frame.
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first

#include <jerror.h>
#include <jpeglib.h>

#include "vision/decode_internal.h"

namespace ivl::vision::detail {
namespace {

// A progressive file may hold any number of scans, each a full pass over the coefficients; a
// crafted file with thousands of tiny scans takes minutes. libjpeg-turbo's TurboJPEG API caps
// scans at 500 with TJFLAG_LIMITSCANS; we do the same.
constexpr int kMaxScans = 500;

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

[[noreturn]] void on_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings are ignored as Pillow ignores them (e.g. "extraneous bytes before marker"), except
// premature end of data: Pillow refuses a truncated file ("image file is truncated"), and so do we.
void on_emit_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level != -1) return;  // trace messages
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
    err->truncated = true;
    std::longjmp(err->jump, 1);
  }
}

void on_output_message(j_common_ptr) {}

struct ProgressMonitor {
  jpeg_progress_mgr pub;
  ErrorManager* err;
};

void on_progress(j_common_ptr cinfo) {
  auto* dinfo = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (dinfo->input_scan_number > kMaxScans) {
    auto* progress = reinterpret_cast<ProgressMonitor*>(cinfo->progress);
    std::snprintf(progress->err->message, sizeof(progress->err->message),
                  "progressive JPEG has more than %d scans", kMaxScans);
    std::longjmp(progress->err->jump, 1);
  }
}

// Pillow reads every 4-channel JPEG as "CMYK;I" (Adobe's inverted polarity, JpegImagePlugin
// "assume adobe conventions"), then Convert.c cmyk2rgb: R = nk - nk*C/255 with nk = 255 - K and
// Pillow's MULDIV255 rounding. With the inversion undone, C = 255 - c_raw and nk = k_raw.
inline uint8_t muldiv255(int a, int b) {
  int tmp = a * b + 128;
  return static_cast<uint8_t>(((tmp >> 8) + tmp) >> 8);
}

void cmyk_row_to_rgb(const uint8_t* in, uint8_t* out, int width) {
  for (int x = 0; x < width; ++x, in += 4, out += 3) {
    int nk = in[3];
    for (int c = 0; c < 3; ++c) {
      int v = nk - muldiv255(255 - in[c], nk);
      out[c] = static_cast<uint8_t>(v < 0 ? 0 : v);
    }
  }
}

// libjpeg state for one decode; destroyed on every path.
struct JpegDecoder {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  ProgressMonitor progress{};
  bool created = false;
  ~JpegDecoder() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

// Each step runs libjpeg calls under its own setjmp and nothing else (no C++ objects, no
// strings), so the longjmp from on_error_exit skips only libjpeg's C frames. false = libjpeg
// failed; err.message / err.truncated say why.
bool read_header_step(JpegDecoder& d, std::span<const std::byte> bytes) {
  d.cinfo.err = jpeg_std_error(&d.err.pub);
  d.err.pub.error_exit = on_error_exit;
  d.err.pub.emit_message = on_emit_message;
  d.err.pub.output_message = on_output_message;
  if (setjmp(d.err.jump) != 0) return false;
  jpeg_create_decompress(&d.cinfo);
  d.created = true;
  d.progress.pub.progress_monitor = on_progress;
  d.progress.err = &d.err;
  d.cinfo.progress = &d.progress.pub;
  jpeg_mem_src(&d.cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&d.cinfo, TRUE);
  return true;
}

bool decode_step(JpegDecoder& d, RgbImage* out, uint8_t* cmyk_row) {
  if (setjmp(d.err.jump) != 0) return false;
  const bool cmyk = cmyk_row != nullptr;
  d.cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;  // gray -> RGB replicates the sample
  jpeg_start_decompress(&d.cinfo);
  while (d.cinfo.output_scanline < d.cinfo.output_height) {
    uint8_t* dst = out->row(static_cast<int>(d.cinfo.output_scanline));
    JSAMPROW row = cmyk ? cmyk_row : dst;
    jpeg_read_scanlines(&d.cinfo, &row, 1);
    if (cmyk) cmyk_row_to_rgb(cmyk_row, dst, out->width());
  }
  jpeg_finish_decompress(&d.cinfo);
  return true;
}

Status libjpeg_failure(const ErrorManager& err) {
  if (err.truncated) {
    return Status::corrupt("truncated JPEG data (the file ends before the image is complete)");
  }
  return Status::corrupt(std::string("invalid JPEG data: ") + err.message);
}

}  // namespace

Result<RgbImage> decode_jpeg(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  JpegDecoder d;
  if (!read_header_step(d, bytes)) return libjpeg_failure(d.err);
  IVL_RETURN_IF_ERROR(check_dimensions("JPEG", d.cinfo.image_width, d.cinfo.image_height, limits));
  const int components = d.cinfo.num_components;
  if (components != 1 && components != 3 && components != 4) {
    return Status::unsupported("JPEG with " + std::to_string(components) +
                               " components (Pillow reads 1, 3 or 4)");
  }
  RgbImage image(static_cast<int>(d.cinfo.image_width), static_cast<int>(d.cinfo.image_height));
  std::unique_ptr<uint8_t[]> cmyk_row;
  if (components == 4) {
    cmyk_row = std::make_unique_for_overwrite<uint8_t[]>(static_cast<size_t>(image.width()) * 4);
  }
  if (!decode_step(d, &image, cmyk_row.get())) return libjpeg_failure(d.err);
  return image;
}

}  // namespace ivl::vision::detail
