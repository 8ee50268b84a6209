// RgbImage: the decoded picture every vision step works on.
//
// Layout: 8-bit RGB, row-major, 3 bytes per pixel, rows packed without padding; channel c of
// pixel (x, y) is at data()[(y * width + x) * 3 + c]. This is what PIL's `Image.convert("RGB")`
// followed by `np.asarray` gives, so a sha256 of the bytes compares directly with the
// reference fixtures (`decoded_rgb_sha256`).
//
// Ownership: the image owns its pixels. It is a value type: copies are deep, moves are cheap.
// Thread safety: none needed beyond the usual (const methods may be called concurrently).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace ivl::vision {

class RgbImage {
 public:
  RgbImage() = default;
  // An image of the given size with UNINITIALISED pixels (decoders and resizers overwrite every
  // byte; zero-filling 36 MB for a 12 MP photo would cost more than the copy it precedes).
  // Both dimensions must be >= 0; the caller checks limits before calling.
  RgbImage(int width, int height)
      : width_(width),
        height_(height),
        pixels_(std::make_unique_for_overwrite<uint8_t[]>(byte_size_of(width, height))) {}

  RgbImage(const RgbImage& other) : RgbImage(other.width_, other.height_) {
    if (size_bytes() > 0) std::memcpy(pixels_.get(), other.pixels_.get(), size_bytes());
  }
  RgbImage& operator=(const RgbImage& other) {
    if (this != &other) *this = RgbImage(other);
    return *this;
  }
  RgbImage(RgbImage&&) noexcept = default;
  RgbImage& operator=(RgbImage&&) noexcept = default;

  int width() const { return width_; }
  int height() const { return height_; }
  bool empty() const { return width_ == 0 || height_ == 0; }
  size_t stride() const { return static_cast<size_t>(width_) * 3; }
  size_t size_bytes() const { return byte_size_of(width_, height_); }

  uint8_t* data() { return pixels_.get(); }
  const uint8_t* data() const { return pixels_.get(); }
  uint8_t* row(int y) { return pixels_.get() + static_cast<size_t>(y) * stride(); }
  const uint8_t* row(int y) const { return pixels_.get() + static_cast<size_t>(y) * stride(); }
  std::span<const uint8_t> bytes() const { return {pixels_.get(), size_bytes()}; }
  std::span<uint8_t> bytes() { return {pixels_.get(), size_bytes()}; }

  static size_t byte_size_of(int width, int height) {
    return static_cast<size_t>(width) * static_cast<size_t>(height) * 3;
  }

 private:
  int width_ = 0;
  int height_ = 0;
  std::unique_ptr<uint8_t[]> pixels_;
};

}  // namespace ivl::vision
