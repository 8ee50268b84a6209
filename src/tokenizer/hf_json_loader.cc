// Loader for tokenizer.json (Hugging Face `tokenizers` serialisation).
//
// Implemented subset (anything else is kUnsupported, naming the component):
//   normalizer:     null, NFC, NFD, NFKC, NFKD, Sequence of those
//   pre_tokenizer:  Sequence of Split(Regex|String, behavior Isolated, invert false) followed by
//                   ByteLevel(add_prefix_space false; use_regex true adds the GPT-2 split)
//   model:          BPE without dropout, subword prefix/suffix or byte_fallback
//   post_processor: null, ByteLevel, TemplateProcessing (its "single" template), Sequence
//   decoder:        ByteLevel, or a Sequence of ByteLevel
#include <cctype>
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

class Parser {
 public:
  explicit Parser(const fs::path& file) : name_(file.string()) {}

  // Checks the model's settings; the vocab and merges were streamed into `spec` already.
  Status model(const json& j, const BpeJsonDocument& doc, BpeSpec* spec);
  Result<std::vector<AddedToken>> added_tokens(const json& j);
  Result<Normalizer> normalizer(const json& j);
  Status pre_tokenizer(const json& j, std::vector<RegexSplitter>* splitters, bool* byte_level);
  Status post_processor(const json& j, std::vector<int32_t>* prefix, std::vector<int32_t>* suffix);
  Status decoder(const json& j);
  const std::string& name() const { return name_; }

 private:
  static std::string type_of(const json& j) {
    return j.is_object() && j.contains("type") && j["type"].is_string()
               ? j["type"].get<std::string>()
               : std::string();
  }
  Status unsupported(const std::string& what) const {
    return Status::unsupported(name_ + ": " + what +
                               " is not supported (only byte-level BPE pipelines are)");
  }
  Status bad(const std::string& field, const std::string& expected, const json& got) const {
    return Status::corrupt(name_ + ": " + field + ": expected " + expected + ", got " +
                           json_excerpt(got));
  }

  std::string name_;
};

Status Parser::model(const json& j, const BpeJsonDocument& doc, BpeSpec* spec) {
  if (!j.is_object()) return bad("model", "an object", j);
  const std::string type = type_of(j);
  if (!type.empty() && type != "BPE") return unsupported("model type \"" + type + "\"");
  if (!doc.has_vocab) return bad("model.vocab", "an object {token: id}", j.value("vocab", json()));
  if (!doc.has_merges) return bad("model.merges", "an array", j.value("merges", json()));
  if (j.contains("dropout") && !j["dropout"].is_null() &&
      !(j["dropout"].is_number() && j["dropout"].get<double>() == 0.0)) {
    return unsupported("BPE dropout");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (j.contains(key) && !j[key].is_null() && !(j[key].is_string() && j[key] == "")) {
      return unsupported(std::string("BPE ") + key);
    }
  }
  if (j.value("byte_fallback", false)) return unsupported("BPE byte_fallback");
  if (j.contains("unk_token") && j["unk_token"].is_string()) {
    spec->unk_token = j["unk_token"].get<std::string>();
  }
  spec->fuse_unk = j.value("fuse_unk", false);
  spec->ignore_merges = j.value("ignore_merges", false);
  return Status();
}

Result<std::vector<AddedToken>> Parser::added_tokens(const json& j) {
  std::vector<AddedToken> tokens;
  if (j.is_null()) return tokens;
  if (!j.is_array()) return bad("added_tokens", "an array", j);
  for (const json& item : j) {
    const std::string where = "added_tokens[" + std::to_string(tokens.size()) + "]";
    if (!item.is_object() || !item.contains("id") || !item["id"].is_number_integer() ||
        !item.contains("content") || !item["content"].is_string()) {
      return bad(where, "an object with an integer \"id\" and a string \"content\"", item);
    }
    const int64_t id = item["id"].get<int64_t>();
    if (id < 0 || id > kMaxTokenId) {
      return Status::corrupt(name_ + ": " + where + ": id " + std::to_string(id) +
                             " is outside [0, " + std::to_string(kMaxTokenId) + "]");
    }
    AddedToken t;
    t.id = static_cast<int32_t>(id);
    t.content = item["content"].get<std::string>();
    t.single_word = item.value("single_word", false);
    t.lstrip = item.value("lstrip", false);
    t.rstrip = item.value("rstrip", false);
    t.normalized = item.value("normalized", true);  // the tokenizers library's default
    t.special = item.value("special", false);
    tokens.push_back(std::move(t));
  }
  return tokens;
}

Result<Normalizer> Parser::normalizer(const json& j) {
  if (j.is_null()) return Normalizer();
  std::vector<NormalForm> steps;
  std::vector<const json*> todo{&j};
  while (!todo.empty()) {
    const json& n = *todo.front();
    todo.erase(todo.begin());
    const std::string type = type_of(n);
    if (type == "NFC") {
      steps.push_back(NormalForm::kNfc);
    } else if (type == "NFD") {
      steps.push_back(NormalForm::kNfd);
    } else if (type == "NFKC") {
      steps.push_back(NormalForm::kNfkc);
    } else if (type == "NFKD") {
      steps.push_back(NormalForm::kNfkd);
    } else if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
      std::vector<const json*> inner;
      for (const json& x : n["normalizers"]) inner.push_back(&x);
      todo.insert(todo.begin(), inner.begin(), inner.end());
    } else {
      return unsupported("normalizer " + json_excerpt(n));
    }
  }
  return Normalizer(std::move(steps));
}

Status Parser::pre_tokenizer(const json& j, std::vector<RegexSplitter>* splitters,
                             bool* byte_level) {
  if (j.is_null()) return Status();
  const std::string type = type_of(j);
  if (type == "Sequence" && j.contains("pretokenizers") && j["pretokenizers"].is_array()) {
    for (const json& inner : j["pretokenizers"]) {
      IVL_RETURN_IF_ERROR(pre_tokenizer(inner, splitters, byte_level));
    }
    return Status();
  }
  if (*byte_level) return unsupported("a pre-tokenizer after ByteLevel");
  if (type == "ByteLevel") {
    if (j.value("add_prefix_space", false)) return unsupported("ByteLevel add_prefix_space");
    if (j.value("use_regex", true)) {
      IVL_ASSIGN_OR_RETURN(RegexSplitter s, RegexSplitter::compile(kGpt2Pattern, name_));
      splitters->push_back(std::move(s));
    }
    *byte_level = true;
    return Status();
  }
  if (type == "Split") {
    if (j.value("behavior", std::string()) != "Isolated" || j.value("invert", false)) {
      return unsupported("pre-tokenizer " + json_excerpt(j) + " (only behavior Isolated is)");
    }
    const json pattern = j.value("pattern", json());
    std::string regex;
    if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
      regex = pattern["Regex"].get<std::string>();
    } else if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
      for (char c : pattern["String"].get<std::string>()) {  // a literal: escape ASCII symbols
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80 && !std::isalnum(u)) regex.push_back('\\');
        regex.push_back(c);
      }
    } else {
      return bad("pre_tokenizer Split.pattern", "{\"Regex\": ...} or {\"String\": ...}", pattern);
    }
    IVL_ASSIGN_OR_RETURN(RegexSplitter s, RegexSplitter::compile(regex, name_));
    splitters->push_back(std::move(s));
    return Status();
  }
  return unsupported("pre-tokenizer " + json_excerpt(j));
}

Status Parser::post_processor(const json& j, std::vector<int32_t>* prefix,
                              std::vector<int32_t>* suffix) {
  if (j.is_null()) return Status();
  const std::string type = type_of(j);
  if (type == "ByteLevel") return Status();  // only adjusts offsets
  if (type == "Sequence" && j.contains("processors") && j["processors"].is_array()) {
    for (const json& inner : j["processors"]) {
      IVL_RETURN_IF_ERROR(post_processor(inner, prefix, suffix));
    }
    return Status();
  }
  if (type != "TemplateProcessing") return unsupported("post-processor " + json_excerpt(j));
  const json single = j.value("single", json());
  const json specials = j.value("special_tokens", json::object());
  if (!single.is_array()) return bad("post_processor.single", "an array", single);
  bool after_text = false;
  for (const json& item : single) {
    if (item.is_object() && item.contains("Sequence")) {
      after_text = true;
      continue;
    }
    if (!item.is_object() || !item.contains("SpecialToken") ||
        !item["SpecialToken"].contains("id") || !item["SpecialToken"]["id"].is_string()) {
      return bad("post_processor.single item", "{\"SpecialToken\": {...}} or {\"Sequence\": ...}",
                 item);
    }
    const std::string name = item["SpecialToken"]["id"].get<std::string>();
    if (!specials.contains(name) || !specials[name].contains("ids") ||
        !specials[name]["ids"].is_array()) {
      return bad("post_processor.special_tokens[\"" + name + "\"]", "an object with \"ids\"",
                 specials.value(name, json()));
    }
    for (const json& id : specials[name]["ids"]) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > kMaxTokenId) {
        return bad("post_processor.special_tokens[\"" + name + "\"].ids", "token ids", id);
      }
      (after_text ? suffix : prefix)->push_back(id.get<int32_t>());
    }
  }
  return Status();
}

Status Parser::decoder(const json& j) {
  const std::string type = type_of(j);
  if (type == "ByteLevel") return Status();
  if (type == "Sequence" && j.contains("decoders") && j["decoders"].is_array() &&
      !j["decoders"].empty()) {
    for (const json& inner : j["decoders"]) IVL_RETURN_IF_ERROR(decoder(inner));
    return Status();
  }
  return unsupported("decoder " + json_excerpt(j));
}

std::optional<int32_t> lookup(const BpePipeline& p, const std::optional<std::string>& token) {
  if (!token) return std::nullopt;
  if (auto id = p.added.find_by_content(*token)) return id;
  return p.model->token_to_id(*token);
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> load_tokenizer_json(const fs::path& dir) {
  Parser parser(dir / "tokenizer.json");
  static const std::vector<std::string> kVocabPath = {"model", "vocab"};
  static const std::vector<std::string> kMergesPath = {"model", "merges"};
  BpeSpec spec;
  IVL_ASSIGN_OR_RETURN(BpeJsonDocument doc,
                       read_bpe_json(dir / "tokenizer.json", {&kVocabPath, &kMergesPath}, &spec));
  const json& j = doc.rest;
  if (!j.is_object()) return Status::corrupt(parser.name() + ": expected a JSON object");
  const json null;
  auto field = [&](const char* key) -> const json& { return j.contains(key) ? j[key] : null; };

  BpePipeline p;
  p.kind = "byte-level BPE (tokenizer.json)";
  IVL_ASSIGN_OR_RETURN(p.normalizer, parser.normalizer(field("normalizer")));
  bool byte_level = false;
  IVL_RETURN_IF_ERROR(parser.pre_tokenizer(field("pre_tokenizer"), &p.splitters, &byte_level));
  if (!byte_level) return Status::unsupported(parser.name() + ": no ByteLevel pre-tokenizer");
  IVL_RETURN_IF_ERROR(parser.decoder(field("decoder")));
  IVL_RETURN_IF_ERROR(parser.post_processor(field("post_processor"), &p.prefix_ids, &p.suffix_ids));
  IVL_RETURN_IF_ERROR(parser.model(field("model"), doc, &spec));
  IVL_ASSIGN_OR_RETURN(p.model, BpeModel::build(std::move(spec), parser.name(), parser.name()));
  IVL_ASSIGN_OR_RETURN(std::vector<AddedToken> added, parser.added_tokens(field("added_tokens")));
  IVL_ASSIGN_OR_RETURN(TokenizerConfig config, read_tokenizer_config(dir));
  IVL_ASSIGN_OR_RETURN(p.added,
                       AddedVocab::build(std::move(added), p.normalizer,
                                         {.use_normalized_flag = true,
                                          .split_special_tokens = config.split_special_tokens},
                                         parser.name()));

  p.bos_id = lookup(p, config.bos_token);
  if (!p.bos_id && !config.bos_token && !p.prefix_ids.empty()) p.bos_id = p.prefix_ids.front();
  p.eos_id = lookup(p, config.eos_token);
  return std::unique_ptr<Tokenizer>(new BpeTokenizer(std::move(p)));
}

}  // namespace ivl::tok
