#include "tokenizer/bpe_json_reader.h"

#include "tokenizer/json_file.h"

namespace ivl::tok {
namespace {

using nlohmann::json;

class TableSax final : public nlohmann::json_sax<json> {
 public:
  TableSax(BpeTablePaths paths, BpeSpec* spec) : paths_(paths), spec_(spec) {}

  bool null() override { return value(json(nullptr)); }
  bool boolean(bool v) override { return value(json(v)); }
  bool number_integer(number_integer_t v) override {
    if (in(Mode::kVocab)) return vocab_entry(v);
    return value(json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (in(Mode::kVocab)) {
      return vocab_entry(v > uint64_t{INT64_MAX} ? INT64_MAX : static_cast<int64_t>(v));
    }
    return value(json(v));
  }
  bool number_float(number_float_t v, const string_t&) override { return value(json(v)); }
  bool binary(binary_t&) override { return fail("unexpected binary value"); }

  bool string(string_t& s) override {
    if (in(Mode::kMerges)) {
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        return fail(where() + "[" + std::to_string(spec_->merge_count()) +
                    "]: expected \"left right\", got \"" + s + "\"");
      }
      const std::string_view view(s);
      spec_->add_merge(view.substr(0, space), view.substr(space + 1));
      return true;
    }
    if (in(Mode::kMergePair)) {
      pair_.push_back(std::move(s));
      return true;
    }
    return value(json(std::move(s)));
  }

  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }

  bool start_object(std::size_t) override { return start(/*object=*/true); }
  bool start_array(std::size_t) override { return start(/*object=*/false); }
  bool end_object() override { return end(); }
  bool end_array() override {
    if (in(Mode::kMergePair)) {
      if (pair_.size() != 2) {
        return fail(where() + ": expected a [\"left\", \"right\"] pair of strings");
      }
      spec_->add_merge(pair_[0], pair_[1]);
      pair_.clear();
    }
    return end();
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    error_ = "not valid JSON (byte " + std::to_string(position) + "): " + e.what();
    return false;
  }

  json& root() { return root_; }
  const std::string& error() const { return error_; }
  bool saw_vocab() const { return saw_vocab_; }
  bool saw_merges() const { return saw_merges_; }

 private:
  enum class Mode { kDom, kVocab, kMerges, kMergePair };
  struct Frame {
    Mode mode;
    json* node;  // the DOM container (kDom only)
  };

  bool in(Mode mode) const { return !stack_.empty() && stack_.back().mode == mode; }

  std::string where() const {
    std::string out;
    for (const std::string& k : path_) out += (out.empty() ? "" : ".") + k;
    return out.empty() ? "(top level)" : out;
  }

  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  bool vocab_entry(int64_t id) {
    spec_->add_token(key_, id);
    return true;
  }

  // A scalar (or, for start(), a new container) in the current position.
  bool value(json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    const Frame& f = stack_.back();
    switch (f.mode) {
      case Mode::kDom:
        if (f.node->is_object()) {
          (*f.node)[key_] = std::move(v);
        } else {
          f.node->push_back(std::move(v));
        }
        return true;
      case Mode::kVocab:
        return fail(where() + "[\"" + key_ + "\"]: expected an integer token id, got " +
                    json_excerpt(v));
      case Mode::kMerges:
      case Mode::kMergePair:
        return fail(where() + ": expected merges as \"left right\" or [\"left\", \"right\"], got " +
                    json_excerpt(v));
    }
    return false;
  }

  bool start(bool object) {
    if (in(Mode::kMerges) && !object) {  // hot: one per merge, so no path bookkeeping
      pair_.clear();
      stack_.push_back({Mode::kMergePair, nullptr});
      return true;
    }
    if (!stack_.empty() && stack_.back().mode != Mode::kDom) {
      return value(object ? json::object() : json::array());  // reports the error
    }
    const bool parent_is_object =
        !stack_.empty() && stack_.back().mode == Mode::kDom && stack_.back().node->is_object();
    std::vector<std::string> here = path_;
    if (!stack_.empty()) here.push_back(parent_is_object ? key_ : "[]");
    if (object && paths_.vocab != nullptr && here == *paths_.vocab) {
      saw_vocab_ = true;
      return push({Mode::kVocab, nullptr}, std::move(here));
    }
    if (!object && paths_.merges != nullptr && here == *paths_.merges) {
      saw_merges_ = true;
      return push({Mode::kMerges, nullptr}, std::move(here));
    }
    json fresh = object ? json::object() : json::array();
    json* node = nullptr;
    if (stack_.empty()) {
      root_ = std::move(fresh);
      node = &root_;
    } else if (parent_is_object) {
      json& slot = (*stack_.back().node)[key_];
      slot = std::move(fresh);
      node = &slot;
    } else {
      stack_.back().node->push_back(std::move(fresh));
      node = &stack_.back().node->back();
    }
    return push({Mode::kDom, node}, std::move(here));
  }

  bool push(Frame f, std::vector<std::string> path) {
    stack_.push_back(f);
    path_ = std::move(path);
    return true;
  }

  bool end() {
    const Mode mode = stack_.back().mode;
    stack_.pop_back();
    if (mode != Mode::kMergePair && !path_.empty()) path_.pop_back();
    return true;
  }

  BpeTablePaths paths_;
  BpeSpec* spec_;
  json root_;
  std::vector<Frame> stack_;
  std::vector<std::string> path_;  // key path of the innermost open container
  std::string key_;
  std::vector<std::string> pair_;
  std::string error_;
  bool saw_vocab_ = false;
  bool saw_merges_ = false;
};

}  // namespace

Result<BpeJsonDocument> read_bpe_json(const std::filesystem::path& file, BpeTablePaths paths,
                                      BpeSpec* spec) {
  IVL_ASSIGN_OR_RETURN(std::string text, read_file_bytes(file));
  // A 150k-token tokenizer.json is ~6 MB: about 40 bytes of file per token and per merge.
  spec->reserve(text.size() / 40, text.size() / 40, text.size() / 8);
  TableSax sax(paths, spec);
  bool ok = false;
  try {
    ok = json::sax_parse(text, &sax);
  } catch (const json::exception& e) {
    return Status::corrupt(file.string() + ": not valid JSON: " + e.what());
  }
  if (!ok) {
    return Status::corrupt(file.string() + ": " +
                           (sax.error().empty() ? std::string("not valid JSON") : sax.error()));
  }
  BpeJsonDocument doc;
  doc.rest = std::move(sax.root());
  doc.has_vocab = sax.saw_vocab();
  doc.has_merges = sax.saw_merges();
  return doc;
}

}  // namespace ivl::tok
