#include "cli/publish_directory.h"

#include <unistd.h>

namespace ivl::cli {

namespace fs = std::filesystem;

Status publish_directory(const fs::path& out, const std::string& tag,
                         const std::function<Status(const fs::path& tmp)>& write) {
  const fs::path tmp = out.parent_path() / ("." + out.filename().string() + "." + tag + "-" +
                                            std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directory(tmp, ec);
  if (ec) return Status::io_error(tmp.string() + ": cannot create: " + ec.message());
  Status s = write(tmp);
  if (s.ok()) {
    fs::remove(out, ec);  // an empty directory (the callers refuse anything else)
    fs::rename(tmp, out, ec);
    if (ec) s = Status::io_error("cannot rename " + tmp.string() + " to " + out.string());
  }
  if (!s.ok()) fs::remove_all(tmp, ec);
  return s;
}

}  // namespace ivl::cli
