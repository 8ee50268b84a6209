// Subcommands of the `internvl` executable. Each add_* function registers one subcommand, its
// options and --help text on `app`; when that subcommand runs, its exit status is stored in
// *exit_code (0 success, 1 failure reported on stderr).
#pragma once

#include <CLI/CLI.hpp>

#include "ivl/status.h"

namespace ivl::cli {

void add_inspect_command(CLI::App& app, int* exit_code);
void add_tokenize_command(CLI::App& app, int* exit_code);
void add_tiles_command(CLI::App& app, int* exit_code);
void add_frames_command(CLI::App& app, int* exit_code);
void add_run_command(CLI::App& app, int* exit_code);
void add_chat_command(CLI::App& app, int* exit_code);
void add_mkmodel_command(CLI::App& app, int* exit_code);
void add_bench_command(CLI::App& app, int* exit_code);
void add_quantize_command(CLI::App& app, int* exit_code);

// Prints "internvl: error: <message>" to stderr and returns 1.
int report_error(const Status& status);

}  // namespace ivl::cli
