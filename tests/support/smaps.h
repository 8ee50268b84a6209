// Reading this process's /proc/self/smaps, for tests of how memory is mapped.
#pragma once

#include <cstdint>
#include <string>

namespace ivl::test {

// The number after `key` (e.g. "Rss:", "THPeligible:") in the smaps entry of the mapping of this
// process that contains address p; -1 when no mapping contains p or its entry has no such line.
int64_t smaps_value(const void* p, const std::string& key);

// Whether the kernel gives transparent huge pages to a mapping that asks for them (THP mode
// "always" or "madvise"; not "never", nor a kernel without THP).
bool transparent_huge_pages_available();

}  // namespace ivl::test
