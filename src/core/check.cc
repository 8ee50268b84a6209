#include "core/check.h"

#include <cstdio>
#include <cstdlib>

namespace ivl::detail {

void check_failed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "internvl: BUG: check failed at %s:%d: %s %s\n", file, line, expr, msg);
  std::abort();
}

}  // namespace ivl::detail
