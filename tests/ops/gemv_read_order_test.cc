// The quantized GEMVs must read their rows in order: each thread's rows are one sequential stream,
// the walk the Zen 4 hardware prefetcher follows. Reading them in another order gives the same
// bits (QuantGemv.EveryRowWalkGivesTheSameBits cannot see it) but cuts the rate from DRAM: at
// d481ebb the four row sums of a short-row group were passed as call arguments, which GCC
// evaluates right to left, so every group of four rows was read backwards and the q4_0 gate/up
// GEMV fell from 34 to 12 GB/s while every test passed.
//
// Here the rows lie in pages that are made unreadable before the call; a SIGSEGV handler records
// each page's first touch and makes the page readable again. A walk that reads rows in order
// touches the pages in increasing order. The rows are at most 2176 bytes (a row spans at most two
// pages, so reading its scales after its first codes cannot skip a page) and their sizes are
// multiples of 32 bytes (no 32-byte scale load straddles two pages, so no first touch comes from
// a load whose two faults could be reported in either order). Four q8_0 rows of 1088 bytes or more
// can span three pages, so a group read backwards first touches a page past one not yet read.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/weight_arena.h"
#include "ops/packed_formats.h"
#include "ops/packed_kernels.h"
#include "ops/packed_test_support.h"

namespace ivl::ops {
namespace {

constexpr int kMaxPages = 64;

// State of the fault handler: the watched range and the pages in the order of their first touch.
uintptr_t g_watched_begin = 0, g_watched_end = 0;
size_t g_page_bytes = 0;
size_t g_first_touches[kMaxPages];
volatile sig_atomic_t g_touch_count = 0;
struct sigaction g_previous_handler;

void record_first_touch(int /*signal*/, siginfo_t* info, void* /*context*/) {
  const auto at = reinterpret_cast<uintptr_t>(info->si_addr);
  if (at < g_watched_begin || at >= g_watched_end || g_touch_count >= kMaxPages) {
    // Not ours: the previous handler takes the fault when the instruction runs again.
    sigaction(SIGSEGV, &g_previous_handler, nullptr);
    return;
  }
  const size_t page = (at - g_watched_begin) / g_page_bytes;
  g_first_touches[g_touch_count] = page;
  g_touch_count = g_touch_count + 1;
  mprotect(reinterpret_cast<void*>(g_watched_begin + page * g_page_bytes), g_page_bytes, PROT_READ);
}

// Rows copied to the start of fresh pages, unreadable until touched.
class WatchedRows {
 public:
  WatchedRows(const std::byte* rows, size_t bytes) : page_(sysconf(_SC_PAGESIZE)) {
    pages_ = (bytes + page_ - 1) / page_;
    void* p =
        mmap(nullptr, pages_ * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap of the watched rows failed");
    base_ = static_cast<std::byte*>(p);
    std::memcpy(base_, rows, bytes);
  }
  ~WatchedRows() { munmap(base_, pages_ * page_); }
  WatchedRows(const WatchedRows&) = delete;
  WatchedRows& operator=(const WatchedRows&) = delete;

  const std::byte* rows() const { return base_; }
  size_t pages() const { return pages_; }

  // Runs fn with the pages unreadable and returns the pages in the order fn first touched them.
  template <class Fn>
  std::vector<size_t> first_touches(Fn fn) {
    g_watched_begin = reinterpret_cast<uintptr_t>(base_);
    g_watched_end = g_watched_begin + pages_ * page_;
    g_page_bytes = page_;
    g_touch_count = 0;
    struct sigaction handler {};
    handler.sa_sigaction = record_first_touch;
    handler.sa_flags = SA_SIGINFO;
    sigemptyset(&handler.sa_mask);
    EXPECT_EQ(sigaction(SIGSEGV, &handler, &g_previous_handler), 0);
    EXPECT_EQ(mprotect(base_, pages_ * page_, PROT_NONE), 0);
    fn();
    EXPECT_EQ(sigaction(SIGSEGV, &g_previous_handler, nullptr), 0);
    EXPECT_EQ(mprotect(base_, pages_ * page_, PROT_READ | PROT_WRITE), 0);
    return {g_first_touches, g_first_touches + g_touch_count};
  }

 private:
  size_t page_, pages_ = 0;
  std::byte* base_ = nullptr;
};

TEST(QuantGemv, EveryRowWalkReadsItsRowsInOrder) {
  const RestoreGemvPolicy restore;
  const std::vector<QuantGemvPolicy> walks = every_row_walk();
  constexpr int64_t kOut = 45;
  // Row bytes: q8_0 1088 / 1632 / 2176, q4_0 576 / 864 / 1152 (multiples of 32, at most 2176:
  // see the top of this file).
  for (const MatrixLayout layout : {MatrixLayout::kQ8_0, MatrixLayout::kQ4_0}) {
    for (const int64_t k : {1024, 1536, 2048}) {
      SCOPED_TRACE(testing::Message() << "layout " << static_cast<int>(layout) << ", k " << k);
      const size_t row_bytes = quant_row_bytes(layout, k);
      ASSERT_EQ(row_bytes % 32, 0u);
      ASSERT_LE(row_bytes, 2176u);
      const std::vector<float> w = random_values(static_cast<size_t>(kOut * k), 11, 0.05f);
      const std::vector<float> x = random_values(static_cast<size_t>(k), 12);
      WeightArena arena;
      const Matrix packed = pack_matrix(rows_matrix(w, kOut, k), layout, arena, nullptr).value();
      WatchedRows watched(quant_rows(packed), static_cast<size_t>(kOut) * row_bytes);
      ASSERT_LE(watched.pages(), static_cast<size_t>(kMaxPages));
      std::vector<size_t> in_order(watched.pages());
      for (size_t p = 0; p < in_order.size(); ++p) in_order[p] = p;
      const QuantizedRow a(x);
      for (const PackedKernels* t : kernel_tables()) {
        SCOPED_TRACE(t->name);
        const auto gemv = layout == MatrixLayout::kQ8_0 ? t->q8_0_gemv : t->q4_0_gemv;
        for (size_t i = 0; i < walks.size(); ++i) {
          SCOPED_TRACE(testing::Message() << "walk " << i);
          avx512_quant_gemv_policy() = walks[i];
          std::vector<float> want(static_cast<size_t>(kOut)), got(static_cast<size_t>(kOut));
          gemv(a.q.data(), a.d.data(), a.s.data(), watched.rows(), k, kOut, nullptr, want.data());
          const std::vector<size_t> touches = watched.first_touches([&] {
            gemv(a.q.data(), a.d.data(), a.s.data(), watched.rows(), k, kOut, nullptr, got.data());
          });
          EXPECT_EQ(touches, in_order);
          for (size_t r = 0; r < got.size(); ++r) ASSERT_EQ(got[r], want[r]) << r;
        }
      }
    }
  }
}

}  // namespace
}  // namespace ivl::ops
