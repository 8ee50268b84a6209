// Read bandwidth probe: how fast the threads of a pool can stream memory that is not in any
// cache. Decode is bound by this number (each generated token reads every LLM weight once), so
// benchmarks report the decode GEMVs and `internvl bench`'s decode rate as a fraction of it,
// measured in the same process: the host's bandwidth varies by tens of percent between
// machines and over time, a ratio against a same-run baseline does not.
#pragma once

#include <cstddef>

#include "core/thread_pool.h"
#include "core/weight_arena.h"

namespace ivl {

class ReadProbe {
 public:
  // A buffer of `bytes` (rounded down to 4 KiB; at least 4 KiB) from a WeightArena, so on the
  // same 2 MiB pages as the weights, written once so that every page is resident. Use a size
  // well beyond the last-level cache (256 MiB and up) to measure memory, not cache.
  explicit ReadProbe(size_t bytes);

  size_t bytes() const { return bytes_; }

  // Seconds for one pass: the pool's threads each sum one contiguous chunk of the buffer.
  double pass_seconds(ThreadPool& pool) const;

  // Bytes per second of the fastest of `passes` passes (the first pass counts: the buffer was
  // written at construction, not read).
  double best_bytes_per_second(ThreadPool& pool, int passes) const;

 private:
  WeightArena arena_;
  const std::byte* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace ivl
