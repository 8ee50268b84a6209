#include "io/json_util.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace ivl::io {
namespace {

const nlohmann::json& empty_object() {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  return kEmpty;
}

}  // namespace

Result<nlohmann::json> read_json_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return Status::not_found(path.string() + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error(path.string() + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::io_error(path.string() + ": read failed");
  return parse_json_strict(ss.str(), path.string());
}

Result<nlohmann::json> parse_json_strict(std::string_view text, const std::string& source) {
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Status::corrupt(source + ": not valid JSON: NUL byte at offset " + std::to_string(nul));
  }
  struct Rejected {
    std::string message;
  };
  std::vector<std::set<std::string>> open_objects;  // keys seen so far, per open object
  auto callback = [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      open_objects.emplace_back();
    } else if (event == Event::object_end) {
      open_objects.pop_back();
    } else if (event == Event::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) {
        std::string message = "duplicate key '";
        message.append(key).push_back('\'');
        throw Rejected{std::move(message)};
      }
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const Rejected& rejected) {
    return Status::corrupt(source + ": " + rejected.message);
  } catch (const nlohmann::json::exception& e) {
    return Status::corrupt(source + ": not valid JSON: " + e.what());
  }
}

Status config_errors(std::string_view source, const std::vector<std::string>& errors) {
  std::string msg(source);
  msg += errors.size() == 1 ? " has an invalid field: " : " has invalid fields: ";
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i) msg += "; ";
    msg += errors[i];
  }
  return Status::invalid_argument(std::move(msg));
}

std::string json_excerpt(const nlohmann::json& value) {
  std::string s = value.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

FieldReader::FieldReader(const nlohmann::json& object, std::string path,
                         std::vector<std::string>* errors)
    : object_(&object), path_(std::move(path)), errors_(errors) {
  if (!object_->is_object()) {
    error("", "expected a JSON object, got " + json_excerpt(*object_));
    object_ = &empty_object();
  }
}

std::string FieldReader::where(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  if (key.empty()) return path_;
  return path_ + "." + std::string(key);
}

void FieldReader::error(std::string_view key, std::string_view message) {
  errors_->push_back(where(key) + ": " + std::string(message));
}

void FieldReader::type_error(std::string_view key, std::string_view expected,
                             const nlohmann::json& got) {
  error(key, "expected " + std::string(expected) + ", got " + json_excerpt(got));
}

const nlohmann::json* FieldReader::raw(std::string_view key) const {
  auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

bool FieldReader::has(std::string_view key) const {
  return raw(key) != nullptr;
}

std::optional<int64_t> FieldReader::optional_integer(std::string_view key, IntRange range) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr) return std::nullopt;
  int64_t out = 0;
  if (v->is_number_integer()) {
    out = v->get<int64_t>();
  } else if (v->is_number_float() && std::isfinite(v->get<double>()) &&
             std::floor(v->get<double>()) == v->get<double>() &&
             std::fabs(v->get<double>()) < 9e15) {
    out = static_cast<int64_t>(v->get<double>());  // e.g. 448.0 written by some exporters
  } else {
    type_error(key, "an integer", *v);
    return std::nullopt;
  }
  if (out < range.min || out > range.max) {
    std::string bounds =
        range.max == std::numeric_limits<int64_t>::max()
            ? "at least " + std::to_string(range.min)
            : "in [" + std::to_string(range.min) + ", " + std::to_string(range.max) + "]";
    error(key, "must be " + bounds + ", got " + std::to_string(out));
    return std::nullopt;
  }
  return out;
}

int64_t FieldReader::integer(std::string_view key, IntRange range) {
  if (!has(key)) {
    error(key, "missing (required)");
    return 0;
  }
  return optional_integer(key, range).value_or(0);
}

int64_t FieldReader::integer_or(std::string_view key, int64_t fallback, IntRange range) {
  if (!has(key)) return fallback;
  return optional_integer(key, range).value_or(fallback);
}

double FieldReader::number_or(std::string_view key, double fallback) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr) return fallback;
  if (!v->is_number() || !std::isfinite(v->get<double>())) {
    type_error(key, "a finite number", *v);
    return fallback;
  }
  return v->get<double>();
}

double FieldReader::number(std::string_view key) {
  if (!has(key)) {
    error(key, "missing (required)");
    return 0.0;
  }
  return number_or(key, 0.0);
}

bool FieldReader::boolean_or(std::string_view key, bool fallback) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) {
    type_error(key, "true or false", *v);
    return fallback;
  }
  return v->get<bool>();
}

std::optional<std::string> FieldReader::optional_string(std::string_view key) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    type_error(key, "a string", *v);
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::string FieldReader::string_or(std::string_view key, std::string fallback) {
  return optional_string(key).value_or(std::move(fallback));
}

std::string FieldReader::string(std::string_view key) {
  if (!has(key)) {
    error(key, "missing (required)");
    return {};
  }
  return optional_string(key).value_or("");
}

std::vector<int64_t> FieldReader::integer_list(std::string_view key) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr) return {};
  if (v->is_number_integer()) return {v->get<int64_t>()};
  std::vector<int64_t> out;
  if (v->is_array()) {
    for (const auto& e : *v) {
      if (!e.is_number_integer()) {
        type_error(key, "an integer or a list of integers", *v);
        return {};
      }
      out.push_back(e.get<int64_t>());
    }
    return out;
  }
  type_error(key, "an integer or a list of integers", *v);
  return {};
}

std::vector<double> FieldReader::number_list(std::string_view key) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr) return {};
  std::vector<double> out;
  if (v->is_array()) {
    for (const auto& e : *v) {
      if (!e.is_number()) {
        type_error(key, "a list of numbers", *v);
        return {};
      }
      out.push_back(e.get<double>());
    }
    return out;
  }
  type_error(key, "a list of numbers", *v);
  return {};
}

FieldReader FieldReader::object(std::string_view key) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr) {
    error(key, "missing (required object)");
    return FieldReader(empty_object(), where(key), errors_);
  }
  return FieldReader(*v, where(key), errors_);
}

std::optional<FieldReader> FieldReader::optional_object(std::string_view key) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr) return std::nullopt;
  return FieldReader(*v, where(key), errors_);
}

}  // namespace ivl::io
