#include <cstdio>

#include "cli/commands.h"

namespace ivl::cli {

int report_error(const Status& status) {
  std::fprintf(stderr, "internvl: error: %s\n", status.to_string().c_str());
  return 1;
}

}  // namespace ivl::cli
