#include "tokenizer/json_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace ivl::tok {

Result<std::string> read_file_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    if (std::filesystem::exists(path, ec)) {
      return Status::io_error(path.string() + ": not a regular file");
    }
    return Status::not_found(path.string() + ": no such file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error(path.string() + ": cannot open: " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return Status::io_error(path.string() + ": cannot determine the file size");
  in.seekg(0, std::ios::beg);
  std::string bytes(static_cast<size_t>(size), '\0');
  if (!in.read(bytes.data(), size)) return Status::io_error(path.string() + ": read failed");
  return bytes;
}

Result<nlohmann::json> read_json(const std::filesystem::path& path) {
  IVL_ASSIGN_OR_RETURN(std::string text, read_file_bytes(path));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::corrupt(path.string() + ": not valid JSON (byte " + std::to_string(e.byte) +
                           "): " + e.what());
  } catch (const nlohmann::json::exception& e) {
    return Status::corrupt(path.string() + ": not valid JSON: " + e.what());
  }
}

std::string json_excerpt(const nlohmann::json& value) {
  std::string s = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

}  // namespace ivl::tok
