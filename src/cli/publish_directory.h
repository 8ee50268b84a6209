// Writes a directory atomically: `write` fills a hidden temporary directory next to `out`, which
// is renamed to `out` only when it succeeded (`out` must be absent or an empty directory);
// on failure the temporary directory is removed. Used by mkmodel and quantize, so an
// interrupted or failed run never leaves a half-written checkpoint under the final name.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "ivl/status.h"

namespace ivl::cli {

Status publish_directory(const std::filesystem::path& out, const std::string& tag,
                         const std::function<Status(const std::filesystem::path& tmp)>& write);

}  // namespace ivl::cli
