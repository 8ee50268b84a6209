// Runs the real `internvl` executable and captures its exit status, stdout and stderr.
#pragma once

#include <string>
#include <vector>

namespace ivl::test {

struct CliResult {
  int exit_code = -1;     // the process's exit status; -1 if it did not exit normally
  bool signaled = false;  // killed by a signal (a crash)
  std::string out;
  std::string err;
};

// stdin comes from `stdin_path` (default: nothing).
CliResult run_cli(const std::vector<std::string>& args,
                  const std::string& stdin_path = "/dev/null");

}  // namespace ivl::test
