// Reading the small text and JSON files a tokenizer ships, with errors that name the file.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "ivl/status.h"

namespace ivl::tok {

// The whole file. kNotFound when absent, kIoError when it cannot be opened or read.
Result<std::string> read_file_bytes(const std::filesystem::path& path);

// read_file_bytes() + parse. Malformed JSON is kCorruptData with the parser's byte position.
// nlohmann exceptions never escape.
Result<nlohmann::json> read_json(const std::filesystem::path& path);

// A short rendering of a JSON value for error messages ("{\"a\": 1, ..." cut at ~60 chars).
std::string json_excerpt(const nlohmann::json& value);

}  // namespace ivl::tok
