#include "runtime/stop_text.h"

#include <algorithm>

namespace ivl::runtime {

std::string StopText::push(const std::string& text) {
  if (stopped_) return {};
  pending_ += text;
  size_t cut = std::string::npos;
  for (const std::string& s : stops_) {
    if (s.empty()) continue;
    size_t pos = pending_.find(s);
    if (pos != std::string::npos) cut = std::min(cut, pos);
  }
  if (cut != std::string::npos) {
    stopped_ = true;
    std::string out = pending_.substr(0, cut);
    pending_.clear();
    emitted_ += out;
    return out;
  }
  // Hold back the longest suffix of pending_ that is a proper prefix of a stop string.
  size_t hold = 0;
  for (const std::string& s : stops_) {
    for (size_t n = std::min(s.size() - (s.empty() ? 0 : 1), pending_.size()); n > hold; --n) {
      if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
        hold = n;
        break;
      }
    }
  }
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  emitted_ += out;
  return out;
}

std::string StopText::flush() {
  std::string out = stopped_ ? std::string() : pending_;
  pending_.clear();
  emitted_ += out;
  return out;
}

}  // namespace ivl::runtime
