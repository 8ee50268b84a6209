// The `internvl` command: one executable, one subcommand per job.
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"internvl.cpp: InternVL vision-language inference (InternVL 1.5 - 3.5)"};
  app.set_version_flag("--version", std::string("internvl.cpp ") + IVL_VERSION_STRING);
  app.require_subcommand(1);
  int exit_code = 0;
  ivl::cli::add_inspect_command(app, &exit_code);
  ivl::cli::add_tokenize_command(app, &exit_code);
  ivl::cli::add_tiles_command(app, &exit_code);
  ivl::cli::add_frames_command(app, &exit_code);
  ivl::cli::add_run_command(app, &exit_code);
  ivl::cli::add_chat_command(app, &exit_code);
  ivl::cli::add_mkmodel_command(app, &exit_code);
  ivl::cli::add_bench_command(app, &exit_code);
  ivl::cli::add_quantize_command(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::fflush(stdout);
  return exit_code;
}
