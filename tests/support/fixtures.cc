#include "support/fixtures.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ivl::test {
namespace fs = std::filesystem;

const fs::path& fixtures_dir() {
  static const fs::path dir = [] {
    const char* env = std::getenv("INTERNVL_FIXTURES");
    return (env != nullptr && *env != '\0')
               ? fs::path(env)
               : fs::path(IVL_SOURCE_DIR) / ".." / "shared" / "fixtures";
  }();
  if (!fs::is_directory(dir / "models")) {
    throw std::runtime_error("reference fixtures not found at '" + dir.string() +
                             "' (set INTERNVL_FIXTURES to the shared/fixtures directory)");
  }
  return dir;
}

fs::path fixture(const std::string& relative) {
  fs::path p = fixtures_dir() / relative;
  if (!fs::exists(p)) throw std::runtime_error("fixture missing: " + p.string());
  return p;
}

const std::vector<std::string>& fixture_model_names() {
  static const std::vector<std::string> names = {"tiny-internvl3-qwen2", "tiny-internvl3-qwen2-hf",
                                                 "tiny-internvl35-qwen3-v",
                                                 "tiny-internvl35-qwen3-v-hf"};
  return names;
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json read_json_file(const fs::path& path) {
  return nlohmann::json::parse(read_text_file(path));
}

fs::path scratch_dir(const std::string& name) {
  fs::path dir = fs::path(IVL_BINARY_DIR) / "test_scratch" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace ivl::test
