// Reading JSON files and typed fields out of them, with errors that name the file and the field.
//
// FieldReader collects every problem it meets instead of stopping at the first, so a broken
// config.json is reported all at once ("llm_config.hidden_size: missing; vision_config.
// patch_size: expected a positive integer, got -14"). Typical use:
//
//   std::vector<std::string> errors;
//   FieldReader r(json, "llm_config", &errors);
//   int64_t hidden = r.integer("hidden_size", {.min = 1});
//   ...
//   if (!errors.empty()) return config_errors("config.json", errors);
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ivl/status.h"

namespace ivl::io {

// Parses JSON text strictly: a NUL byte (where nlohmann would silently stop) and a key repeated
// in one object (where nlohmann would keep the last) are errors, and so is any parser
// exception. kCorruptData, prefixed by `source`.
Result<nlohmann::json> parse_json_strict(std::string_view text, const std::string& source);

// Parses a JSON file (strictly, as above). kNotFound if absent, kIoError if unreadable,
// kCorruptData (with the parser's byte position) if malformed; every message names the path.
Result<nlohmann::json> read_json_file(const std::filesystem::path& path);

// One kInvalidArgument Status listing all `errors`, prefixed by `source` (e.g. a file name).
Status config_errors(std::string_view source, const std::vector<std::string>& errors);

struct IntRange {
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
};

class FieldReader {
 public:
  // `object` must outlive the reader. `path` is the dotted location used in messages ("" = root).
  FieldReader(const nlohmann::json& object, std::string path, std::vector<std::string>* errors);

  // Present and not null.
  bool has(std::string_view key) const;
  const nlohmann::json* raw(std::string_view key) const;  // nullptr when absent or null

  // Required fields: a missing or mistyped field records an error and returns a neutral value.
  int64_t integer(std::string_view key, IntRange range = {});
  double number(std::string_view key);
  std::string string(std::string_view key);

  // Optional fields: absent or null gives the default; a present field of the wrong type is an
  // error.
  int64_t integer_or(std::string_view key, int64_t fallback, IntRange range = {});
  double number_or(std::string_view key, double fallback);
  bool boolean_or(std::string_view key, bool fallback);
  std::string string_or(std::string_view key, std::string fallback);
  std::optional<int64_t> optional_integer(std::string_view key, IntRange range = {});
  std::optional<std::string> optional_string(std::string_view key);
  // An integer or a list of integers (e.g. eos_token_id); empty when absent.
  std::vector<int64_t> integer_list(std::string_view key);
  std::vector<double> number_list(std::string_view key);

  // Nested object; a missing object records an error (required) and yields a reader over {}.
  FieldReader object(std::string_view key);
  std::optional<FieldReader> optional_object(std::string_view key);

  // Records a custom error about `key` (or about this object when key is empty).
  void error(std::string_view key, std::string_view message);

  const std::string& path() const { return path_; }
  const nlohmann::json& json() const { return *object_; }

 private:
  std::string where(std::string_view key) const;
  void type_error(std::string_view key, std::string_view expected, const nlohmann::json& got);

  const nlohmann::json* object_;
  std::string path_;
  std::vector<std::string>* errors_;
};

// Short rendering of a JSON value for error messages (truncated).
std::string json_excerpt(const nlohmann::json& value);

}  // namespace ivl::io
