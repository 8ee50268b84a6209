#include "cli/cli_runner.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "support/fixtures.h"

namespace ivl::test {

namespace {
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

CliResult run_cli(const std::vector<std::string>& args, const std::string& stdin_path) {
  static int counter = 0;
  auto dir = scratch_dir("cli_run_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::string cmd = shell_quote(IVL_CLI_PATH);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " <" + shell_quote(stdin_path) + " >" + shell_quote((dir / "out").string()) + " 2>" +
         shell_quote((dir / "err").string());
  int status = std::system(cmd.c_str());
  CliResult r;
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
    r.signaled = r.exit_code > 128;  // the shell reports a signal as 128 + n
  } else {
    r.signaled = true;
  }
  r.out = read_text_file(dir / "out");
  r.err = read_text_file(dir / "err");
  std::filesystem::remove_all(dir);
  return r;
}

}  // namespace ivl::test
