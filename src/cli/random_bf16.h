// Fast seeded random bf16 tensors for `internvl mkmodel` (a billion values in about a second).
// A per-element normal draw (std::normal_distribution) would take minutes at 8B parameters, so
// values come from a fixed table of 65536 normal samples indexed by 16-bit slices of a
// splitmix64 stream: the marginal distribution is normal to within the table's resolution,
// which is all a benchmark checkpoint needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ivl::cli {

class RandomBf16 {
 public:
  explicit RandomBf16(float std);  // N(0, std^2)
  // Fills dst[0, n) from the stream `seed` (same seed, same values).
  void fill(std::byte* dst, size_t n, uint64_t seed) const;

 private:
  std::vector<uint16_t> table_;  // 65536 bf16 bit patterns
};

// Every element = value (rounded to bf16).
void fill_constant_bf16(std::byte* dst, size_t n, float value);

// A per-tensor stream: the same (seed, name) always gives the same values, whatever else the
// checkpoint holds (so --layers N keeps the first N layers of the full model).
uint64_t tensor_seed(uint64_t seed, std::string_view name);

}  // namespace ivl::cli
