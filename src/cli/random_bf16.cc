#include "cli/random_bf16.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#include "core/half.h"

namespace ivl::cli {
namespace {

uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in (0, 1): 53 random bits, never 0 (Box-Muller takes its log).
double uniform_open(uint64_t* state) {
  return (static_cast<double>(splitmix64(state) >> 11) + 0.5) * 0x1.0p-53;
}

}  // namespace

RandomBf16::RandomBf16(float std) : table_(65536) {
  uint64_t state = 0x1bf16'7ab1eULL;  // fixed: the table is part of the format, not the seed
  for (size_t i = 0; i < table_.size(); i += 2) {
    const double r = std::sqrt(-2.0 * std::log(uniform_open(&state)));
    const double t = 2.0 * std::numbers::pi * uniform_open(&state);
    table_[i] = f32_to_bf16(static_cast<float>(std * r * std::cos(t)));
    table_[i + 1] = f32_to_bf16(static_cast<float>(std * r * std::sin(t)));
  }
}

void RandomBf16::fill(std::byte* dst, size_t n, uint64_t seed) const {
  // Values are made in a small buffer and copied: no uint16_t stores into std::byte storage.
  constexpr size_t kChunk = 4096;
  uint16_t buf[kChunk];
  uint64_t state = seed;
  for (size_t done = 0; done < n; done += kChunk) {
    const size_t m = std::min(kChunk, n - done);
    for (size_t j = 0; j < m; j += 4) {
      const uint64_t r = splitmix64(&state);
      buf[j] = table_[r & 0xffff];
      buf[j + 1] = table_[(r >> 16) & 0xffff];
      buf[j + 2] = table_[(r >> 32) & 0xffff];
      buf[j + 3] = table_[r >> 48];
    }
    std::memcpy(dst + 2 * done, buf, 2 * m);
  }
}

void fill_constant_bf16(std::byte* dst, size_t n, float value) {
  const uint16_t bits = f32_to_bf16(value);
  std::byte pair[2];
  std::memcpy(pair, &bits, 2);
  for (size_t i = 0; i < n; ++i) {
    dst[2 * i] = pair[0];
    dst[2 * i + 1] = pair[1];
  }
}

uint64_t tensor_seed(uint64_t seed, std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the name, mixed with the seed
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  uint64_t state = seed ^ h;
  return splitmix64(&state);
}

}  // namespace ivl::cli
