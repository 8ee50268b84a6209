// The side files of a Hugging Face tokenizer: tokenizer_config.json (BOS/EOS names, the BOS
// rule, added tokens with their flags), added_tokens.json and special_tokens_map.json.
// All of them are optional; a file that exists but is malformed is an error naming it.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ivl/status.h"
#include "tokenizer/added_vocab.h"

namespace ivl::tok {

struct TokenizerConfig {
  bool present = false;  // tokenizer_config.json exists
  std::string tokenizer_class;
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
  bool split_special_tokens = false;
  // Token contents; a token given as {"content": ...} is reduced to its content. nullopt when
  // absent or null.
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> unk_token;
  std::optional<std::string> pad_token;
  std::vector<std::string> additional_special_tokens;
  // "added_tokens_decoder": {"<id>": {"content": ..., "special": ..., ...}}.
  std::vector<AddedToken> added_tokens_decoder;
};

// Reads `dir`/tokenizer_config.json; a missing file gives a config with present == false.
Result<TokenizerConfig> read_tokenizer_config(const std::filesystem::path& dir);

// Contents that special_tokens_map.json (when present) and `config` declare special.
Result<std::set<std::string>> read_special_token_names(const std::filesystem::path& dir,
                                                       const TokenizerConfig& config);

// The added tokens of a checkpoint without tokenizer.json: `config`.added_tokens_decoder,
// plus the entries of added_tokens.json ({"content": id}) it does not describe. Those get
// special = listed in `special_names`, normalized = !special and no strip flags (the defaults
// transformers gives them). An id that the two files give different contents is an error.
Result<std::vector<AddedToken>> read_slow_added_tokens(const std::filesystem::path& dir,
                                                       const TokenizerConfig& config,
                                                       const std::set<std::string>& special_names);

}  // namespace ivl::tok
