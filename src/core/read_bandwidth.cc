#include "core/read_bandwidth.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>

namespace ivl {
namespace {

constexpr size_t kWordsPerStep = 8;  // one 64-byte line per stream and step

// Sums the n 64-bit words at a and the n at b (n a multiple of kWordsPerStep), reading both in
// step: two sequential streams per thread read 5-15 % faster than one on a Zen 5 host (software
// prefetch added nothing beyond the noise). Written with intrinsics: GCC's auto-vectoriser
// turned the plain loop into shuffles. The loads are as wide as the GEMV kernels'.
#if defined(__x86_64__)
__attribute__((target("avx512f"))) uint64_t sum_two_streams_avx512(const uint64_t* a,
                                                                   const uint64_t* b, size_t n) {
  __m512i sa = _mm512_setzero_si512(), sb = _mm512_setzero_si512();
  for (size_t i = 0; i < n; i += kWordsPerStep) {
    sa = _mm512_add_epi64(sa, _mm512_loadu_si512(a + i));
    sb = _mm512_add_epi64(sb, _mm512_loadu_si512(b + i));
  }
  alignas(64) uint64_t lanes[kWordsPerStep];  // not _mm512_reduce_add_epi64: GCC 12 warns
  _mm512_store_si512(lanes, _mm512_add_epi64(sa, sb));
  uint64_t s = 0;
  for (uint64_t v : lanes) s += v;
  return s;
}
#endif

uint64_t sum_two_streams_portable(const uint64_t* a, const uint64_t* b, size_t n) {
  uint64_t sa = 0, sb = 0;
  for (size_t i = 0; i < n; i += kWordsPerStep) {
    for (size_t j = 0; j < kWordsPerStep; ++j) {
      sa += a[i + j];
      sb += b[i + j];
    }
  }
  return sa + sb;
}

uint64_t sum_two_streams(const uint64_t* a, const uint64_t* b, size_t n) {
#if defined(__x86_64__)
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512) return sum_two_streams_avx512(a, b, n);
#endif
  return sum_two_streams_portable(a, b, n);
}

// Where the sums go, so the reads cannot be optimised away.
std::atomic<uint64_t> g_sink{0};

}  // namespace

ReadProbe::ReadProbe(size_t bytes) : bytes_(std::max<size_t>(bytes / 4096 * 4096, 4096)) {
  std::byte* p = arena_.allocate(bytes_);
  std::memset(p, 1, bytes_);  // the arena's pages are untouched until written
  data_ = p;
}

double ReadProbe::pass_seconds(ThreadPool& pool) const {
  const auto* words = reinterpret_cast<const uint64_t*>(data_);
  const auto pairs = static_cast<int64_t>(bytes_ / (2 * 8 * kWordsPerStep));  // steps of 2 lines
  const auto start = std::chrono::steady_clock::now();
  pool.parallel_for(pairs, [&](int64_t b, int64_t e) {
    // This thread's range [b, e) of line pairs is 2(e - b) lines: the first half is one stream,
    // the second the other.
    const size_t half = static_cast<size_t>(e - b) * kWordsPerStep;
    const uint64_t* first = words + 2 * static_cast<size_t>(b) * kWordsPerStep;
    g_sink.fetch_add(sum_two_streams(first, first + half, half), std::memory_order_relaxed);
  });
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double ReadProbe::best_bytes_per_second(ThreadPool& pool, int passes) const {
  double best = 0;
  for (int i = 0; i < std::max(passes, 1); ++i)
    best = std::max(best, static_cast<double>(bytes_) / pass_seconds(pool));
  return best;
}

}  // namespace ivl
