#include "tokenizer/tokenizer_config.h"

#include <charconv>
#include <map>

#include "tokenizer/bpe_model.h"
#include "tokenizer/json_file.h"

namespace ivl::tok {
namespace fs = std::filesystem;
namespace {

using nlohmann::json;

Status field_error(const fs::path& file, const std::string& field, const std::string& expected,
                   const json& got) {
  return Status::corrupt(file.string() + ": " + field + ": expected " + expected + ", got " +
                         json_excerpt(got));
}

// A token given as "text", {"content": "text", ...} or null.
Result<std::optional<std::string>> token_content(const fs::path& file, const std::string& field,
                                                 const json& value) {
  if (value.is_null()) return std::optional<std::string>();
  if (value.is_string()) return std::optional<std::string>(value.get<std::string>());
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return std::optional<std::string>(value["content"].get<std::string>());
  }
  return field_error(file, field, "a token string, {\"content\": ...} or null", value);
}

Result<std::optional<std::string>> optional_token(const fs::path& file, const json& object,
                                                  const char* key) {
  if (!object.contains(key)) return std::optional<std::string>();
  return token_content(file, key, object[key]);
}

Result<std::optional<bool>> optional_bool(const fs::path& file, const json& object,
                                          const char* key) {
  if (!object.contains(key) || object[key].is_null()) return std::optional<bool>();
  if (!object[key].is_boolean()) return field_error(file, key, "true or false", object[key]);
  return std::optional<bool>(object[key].get<bool>());
}

Result<bool> flag(const fs::path& file, const std::string& where, const json& object,
                  const char* key, bool fallback) {
  if (!object.contains(key) || object[key].is_null()) return fallback;
  if (!object[key].is_boolean()) {
    return field_error(file, where + "." + key, "true or false", object[key]);
  }
  return object[key].get<bool>();
}

Result<int32_t> parse_id(const fs::path& file, const std::string& where, std::string_view text) {
  int64_t id = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 0 || id > kMaxTokenId) {
    return Status::corrupt(file.string() + ": " + where + ": \"" + std::string(text) +
                           "\" is not a token id in [0, " + std::to_string(kMaxTokenId) + "]");
  }
  return static_cast<int32_t>(id);
}

Result<std::vector<AddedToken>> parse_added_tokens_decoder(const fs::path& file, const json& obj) {
  if (!obj.is_object()) return field_error(file, "added_tokens_decoder", "an object", obj);
  std::vector<AddedToken> tokens;
  for (const auto& [key, value] : obj.items()) {
    const std::string where = "added_tokens_decoder[\"" + key + "\"]";
    IVL_ASSIGN_OR_RETURN(int32_t id, parse_id(file, where, key));
    if (!value.is_object() || !value.contains("content") || !value["content"].is_string()) {
      return field_error(file, where, "an object with a string \"content\"", value);
    }
    AddedToken t;
    t.id = id;
    t.content = value["content"].get<std::string>();
    IVL_ASSIGN_OR_RETURN(t.special, flag(file, where, value, "special", false));
    IVL_ASSIGN_OR_RETURN(t.single_word, flag(file, where, value, "single_word", false));
    IVL_ASSIGN_OR_RETURN(t.lstrip, flag(file, where, value, "lstrip", false));
    IVL_ASSIGN_OR_RETURN(t.rstrip, flag(file, where, value, "rstrip", false));
    IVL_ASSIGN_OR_RETURN(t.normalized, flag(file, where, value, "normalized", !t.special));
    tokens.push_back(std::move(t));
  }
  return tokens;
}

// Adds the names in an "additional_special_tokens" list (strings or {"content": ...}).
Status collect_additional(const fs::path& file, const json& list, std::set<std::string>* out) {
  if (list.is_null()) return Status();
  if (!list.is_array()) return field_error(file, "additional_special_tokens", "an array", list);
  for (const json& item : list) {
    IVL_ASSIGN_OR_RETURN(auto name, token_content(file, "additional_special_tokens", item));
    if (name) out->insert(*name);
  }
  return Status();
}

// Adds the token names of a special-tokens object (bos_token, ..., additional_special_tokens).
Status collect_special_names(const fs::path& file, const json& obj, std::set<std::string>* out) {
  for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token",
                          "cls_token", "mask_token"}) {
    IVL_ASSIGN_OR_RETURN(auto name, optional_token(file, obj, key));
    if (name) out->insert(*name);
  }
  if (obj.contains("additional_special_tokens")) {
    IVL_RETURN_IF_ERROR(collect_additional(file, obj["additional_special_tokens"], out));
  }
  return Status();
}

}  // namespace

Result<TokenizerConfig> read_tokenizer_config(const fs::path& dir) {
  TokenizerConfig config;
  const fs::path file = dir / "tokenizer_config.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return config;
  IVL_ASSIGN_OR_RETURN(json j, read_json(file));
  if (!j.is_object()) return field_error(file, "(top level)", "an object", j);
  config.present = true;
  if (j.contains("tokenizer_class") && j["tokenizer_class"].is_string()) {
    config.tokenizer_class = j["tokenizer_class"].get<std::string>();
  }
  IVL_ASSIGN_OR_RETURN(config.add_bos_token, optional_bool(file, j, "add_bos_token"));
  IVL_ASSIGN_OR_RETURN(config.add_eos_token, optional_bool(file, j, "add_eos_token"));
  IVL_ASSIGN_OR_RETURN(std::optional<bool> split, optional_bool(file, j, "split_special_tokens"));
  config.split_special_tokens = split.value_or(false);
  IVL_ASSIGN_OR_RETURN(config.bos_token, optional_token(file, j, "bos_token"));
  IVL_ASSIGN_OR_RETURN(config.eos_token, optional_token(file, j, "eos_token"));
  IVL_ASSIGN_OR_RETURN(config.unk_token, optional_token(file, j, "unk_token"));
  IVL_ASSIGN_OR_RETURN(config.pad_token, optional_token(file, j, "pad_token"));
  if (j.contains("additional_special_tokens")) {
    std::set<std::string> extra;
    IVL_RETURN_IF_ERROR(collect_additional(file, j["additional_special_tokens"], &extra));
    config.additional_special_tokens.assign(extra.begin(), extra.end());
  }
  if (j.contains("added_tokens_decoder") && !j["added_tokens_decoder"].is_null()) {
    IVL_ASSIGN_OR_RETURN(config.added_tokens_decoder,
                         parse_added_tokens_decoder(file, j["added_tokens_decoder"]));
  }
  return config;
}

Result<std::set<std::string>> read_special_token_names(const fs::path& dir,
                                                       const TokenizerConfig& config) {
  std::set<std::string> names(config.additional_special_tokens.begin(),
                              config.additional_special_tokens.end());
  for (const auto* name :
       {&config.bos_token, &config.eos_token, &config.unk_token, &config.pad_token}) {
    if (*name) names.insert(**name);
  }
  const fs::path file = dir / "special_tokens_map.json";
  std::error_code ec;
  if (fs::exists(file, ec)) {
    IVL_ASSIGN_OR_RETURN(json j, read_json(file));
    if (!j.is_object()) return field_error(file, "(top level)", "an object", j);
    IVL_RETURN_IF_ERROR(collect_special_names(file, j, &names));
  }
  return names;
}

Result<std::vector<AddedToken>> read_slow_added_tokens(const fs::path& dir,
                                                       const TokenizerConfig& config,
                                                       const std::set<std::string>& special_names) {
  std::vector<AddedToken> tokens = config.added_tokens_decoder;
  std::map<int32_t, std::string> described;
  for (const AddedToken& t : tokens) described.emplace(t.id, t.content);

  const fs::path file = dir / "added_tokens.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return tokens;
  IVL_ASSIGN_OR_RETURN(json j, read_json(file));
  if (!j.is_object()) return field_error(file, "(top level)", "an object {token: id}", j);
  for (const auto& [content, value] : j.items()) {
    if (!value.is_number_integer()) {
      return field_error(file, "\"" + content + "\"", "an integer token id", value);
    }
    const int64_t id = value.get<int64_t>();
    if (id < 0 || id > kMaxTokenId) {
      return Status::corrupt(file.string() + ": \"" + content + "\": id " + std::to_string(id) +
                             " is outside [0, " + std::to_string(kMaxTokenId) + "]");
    }
    auto it = described.find(static_cast<int32_t>(id));
    if (it != described.end()) {
      if (it->second != content) {
        return Status::corrupt(file.string() + ": id " + std::to_string(id) + " is \"" + content +
                               "\" here but \"" + it->second +
                               "\" in tokenizer_config.json added_tokens_decoder");
      }
      continue;
    }
    AddedToken t;
    t.id = static_cast<int32_t>(id);
    t.content = content;
    t.special = special_names.contains(content);
    t.normalized = !t.special;
    tokens.push_back(std::move(t));
  }
  return tokens;
}

}  // namespace ivl::tok
