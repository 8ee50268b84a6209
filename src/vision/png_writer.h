// Writing an RgbImage as an 8-bit RGB PNG (libpng), for contact sheets and tests.
// Reentrant; libpng errors come back as Status (never longjmp past C++ frames).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ivl/status.h"
#include "vision/image.h"

namespace ivl::vision {

// PNG file bytes of `image` (not interlaced, default compression).
Result<std::vector<std::byte>> encode_png(const RgbImage& image);

// encode_png + write to `path` (replaced if it exists). kIoError names the path.
Status write_png_file(const RgbImage& image, const std::string& path);

}  // namespace ivl::vision
