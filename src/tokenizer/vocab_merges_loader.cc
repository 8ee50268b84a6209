// Loader for the "slow" byte-level BPE file set: vocab.json + merges.txt, with added tokens
// from tokenizer_config.json (added_tokens_decoder) and added_tokens.json.
//
// The pipeline is fixed by the tokenizer class (tokenizer_config.json "tokenizer_class"):
//   Qwen2Tokenizer (or no class): NFC, the Qwen2 split regex, ByteLevel, BPE
//   GPT2Tokenizer:                no normalizer, the GPT-2 split regex, ByteLevel, BPE
// BOS/EOS are added when add_bos_token / add_eos_token say so (both default to false).
// Added tokens are cut out before NFC, as the `tokenizers` library does (transformers now runs
// Qwen2Tokenizer on it); the old Python Qwen2Tokenizer applied NFC to the whole text first,
// which differs only when NFC composes across a token boundary (e.g. "<img>" + U+0338).
#include <string>

#include "tokenizer/bpe_json_reader.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/json_file.h"
#include "tokenizer/loaders.h"
#include "tokenizer/tokenizer_config.h"

namespace ivl::tok {
namespace fs = std::filesystem;
namespace {

using nlohmann::json;

Status read_vocab(const fs::path& file, BpeSpec* spec) {
  static const std::vector<std::string> kRoot;
  IVL_ASSIGN_OR_RETURN(BpeJsonDocument doc, read_bpe_json(file, {&kRoot, nullptr}, spec));
  if (!doc.has_vocab) {
    return Status::corrupt(file.string() + ": expected an object {token: id}, got " +
                           json_excerpt(doc.rest));
  }
  return Status();
}

// One merge per line, "left right"; an optional "#version: ..." first line and blank lines
// are skipped (as the Python Qwen2Tokenizer does).
Status read_merges(const fs::path& file, BpeSpec* spec) {
  IVL_ASSIGN_OR_RETURN(std::string text, read_file_bytes(file));
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos) {
      return Status::corrupt(file.string() + ": line " + std::to_string(line_no) +
                             ": expected \"left right\", got \"" + std::string(line) + "\"");
    }
    spec->add_merge(line.substr(0, space), line.substr(space + 1), line_no);
  }
  return Status();
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> load_vocab_merges(const fs::path& dir) {
  IVL_ASSIGN_OR_RETURN(TokenizerConfig config, read_tokenizer_config(dir));
  const std::string& cls = config.tokenizer_class;
  const bool gpt2 = cls == "GPT2Tokenizer" || cls == "GPT2TokenizerFast";
  if (!gpt2 && !cls.empty() && cls != "Qwen2Tokenizer" && cls != "Qwen2TokenizerFast") {
    return Status::unsupported((dir / "tokenizer_config.json").string() + ": tokenizer_class \"" +
                               cls +
                               "\" with vocab.json + merges.txt is not supported (Qwen2Tokenizer "
                               "and GPT2Tokenizer are)");
  }

  BpePipeline p;
  p.kind = "byte-level BPE (vocab.json + merges.txt)";
  if (!gpt2) p.normalizer = Normalizer({NormalForm::kNfc});
  IVL_ASSIGN_OR_RETURN(RegexSplitter splitter,
                       RegexSplitter::compile(gpt2 ? kGpt2Pattern : kQwen2Pattern, "built-in"));
  p.splitters.push_back(std::move(splitter));

  BpeSpec spec;
  IVL_RETURN_IF_ERROR(read_vocab(dir / "vocab.json", &spec));
  IVL_RETURN_IF_ERROR(read_merges(dir / "merges.txt", &spec));
  IVL_ASSIGN_OR_RETURN(p.model, BpeModel::build(std::move(spec), (dir / "vocab.json").string(),
                                                (dir / "merges.txt").string()));

  IVL_ASSIGN_OR_RETURN(std::set<std::string> special_names, read_special_token_names(dir, config));
  IVL_ASSIGN_OR_RETURN(std::vector<AddedToken> added,
                       read_slow_added_tokens(dir, config, special_names));
  IVL_ASSIGN_OR_RETURN(
      p.added,
      AddedVocab::build(
          std::move(added), p.normalizer,
          {.use_normalized_flag = true, .split_special_tokens = config.split_special_tokens},
          (dir / "added_tokens.json").string() + " / tokenizer_config.json"));

  auto lookup = [&](const std::optional<std::string>& token) -> std::optional<int32_t> {
    if (!token) return std::nullopt;
    if (auto id = p.added.find_by_content(*token)) return id;
    return p.model->token_to_id(*token);
  };
  p.bos_id = lookup(config.bos_token);
  p.eos_id = lookup(config.eos_token);
  const std::string config_name = (dir / "tokenizer_config.json").string();
  if (config.add_bos_token.value_or(false)) {
    if (!p.bos_id) {
      return Status::corrupt(config_name +
                             ": add_bos_token is true but bos_token is missing or not a token");
    }
    p.prefix_ids.push_back(*p.bos_id);
  }
  if (config.add_eos_token.value_or(false)) {
    if (!p.eos_id) {
      return Status::corrupt(config_name +
                             ": add_eos_token is true but eos_token is missing or not a token");
    }
    p.suffix_ids.push_back(*p.eos_id);
  }
  return std::unique_ptr<Tokenizer>(new BpeTokenizer(std::move(p)));
}

}  // namespace ivl::tok
