// Access to the reference fixtures (../shared/fixtures, or $INTERNVL_FIXTURES).
//
// Missing fixtures are a test FAILURE, never a skip: every accessor throws std::runtime_error
// with a message saying where it looked, which GoogleTest reports as a failed test.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace ivl::test {

// The fixtures root; throws if it does not exist.
const std::filesystem::path& fixtures_dir();

// fixtures_dir() / relative; throws if that file or directory does not exist.
std::filesystem::path fixture(const std::string& relative);

// The four tiny model directories, in a stable order.
const std::vector<std::string>& fixture_model_names();

nlohmann::json read_json_file(const std::filesystem::path& path);
std::string read_text_file(const std::filesystem::path& path);

// A fresh, empty scratch directory for one test (under the build tree).
std::filesystem::path scratch_dir(const std::string& name);

}  // namespace ivl::test
