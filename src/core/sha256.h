// SHA-256 (FIPS 180-4). Used to fingerprint token-id sequences and pixel buffers, e.g. to
// compare with the reference fixtures and to key caches of encoded images.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ivl {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::byte> data);
  void update(const void* data, size_t size) {
    update(std::span<const std::byte>(static_cast<const std::byte*>(data), size));
  }
  std::array<uint8_t, 32> finish();  // the object must not be updated afterwards

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_len_ = 0;
};

// Lower-case hex digest of `data`.
std::string sha256_hex(std::span<const std::byte> data);

}  // namespace ivl
