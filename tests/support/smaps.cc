#include "support/smaps.h"

#include <fstream>
#include <sstream>

namespace ivl::test {

int64_t smaps_value(const void* p, const std::string& key) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  std::ifstream in("/proc/self/smaps");
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> begin >> dash >> end && dash == '-') {  // a mapping's first line
      inside = begin <= addr && addr < end;
    } else if (inside && line.rfind(key, 0) == 0) {
      return std::stoll(line.substr(key.size()));
    }
  }
  return -1;
}

bool transparent_huge_pages_available() {
  std::ifstream enabled("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  if (!std::getline(enabled, modes)) return false;
  return modes.find("[never]") == std::string::npos;
}

}  // namespace ivl::test
