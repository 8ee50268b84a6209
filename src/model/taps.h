// Named taps on block outputs ("vit.L3.out", "llm.L0.out", ...) for tracing a mismatch against
// the reference layer by layer. A tap costs one pointer test unless a sink is attached.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ivl::model {

class TapSink {
 public:
  virtual ~TapSink() = default;
  // `data` is valid only during the call; shape is [rows, cols].
  virtual void on_tap(std::string_view name, std::span<const float> data, int64_t rows,
                      int64_t cols) = 0;
};

// Emits only when a sink is attached; the name is built only then.
template <typename NameFn>
inline void tap(TapSink* sink, NameFn&& name, const float* data, int64_t rows, int64_t cols) {
  if (sink != nullptr) {
    sink->on_tap(name(), std::span<const float>(data, static_cast<size_t>(rows * cols)), rows,
                 cols);
  }
}

}  // namespace ivl::model
