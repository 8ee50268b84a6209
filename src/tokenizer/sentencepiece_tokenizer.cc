// SentencePiece checkpoints (InternLM2's tokenizer.model), wrapping libsentencepiece the way
// the Python InternLM2Tokenizer (a transformers "slow" tokenizer) uses it:
//  - encode: added tokens are cut out of the raw text first (all matched before
//    normalisation: slow tokenizers have no normalized=true matching); every text segment in
//    between is encoded by SentencePiece on its own (so each gets SentencePiece's dummy-prefix
//    treatment); BOS is prepended when add_bos_token (default true), EOS appended when
//    add_eos_token (default false).
//  - decode: runs of ordinary pieces are decoded by SentencePiece; added tokens and the
//    control/unknown pieces (<s>, </s>, <unk>) are written as their text, or skipped when
//    skip_special_tokens and they are special. Unlike the Python code no extra spaces are put
//    around special tokens (its spaces_between_special_tokens quirk).
#include <algorithm>
#include <memory>

#include <sentencepiece_processor.h>

#include "tokenizer/json_file.h"
#include "tokenizer/loaders.h"
#include "tokenizer/tokenizer_config.h"
#include "tokenizer/utf8.h"

namespace ivl::tok {
namespace fs = std::filesystem;
namespace {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> sp,
                         AddedVocab added)
      : sp_(std::move(sp)), added_(std::move(added)), pieces_(sp_->GetPieceSize()) {
    vocab_size_ = pieces_;
    for (const AddedToken& t : added_.tokens()) vocab_size_ = std::max(vocab_size_, t.id + 1);
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    if (add_bos_) ids.push_back(*bos_);
    encode_into(text, &ids);
    if (add_eos_) ids.push_back(*eos_);
    return ids;
  }

  std::vector<int32_t> encode_without_special(std::string_view text) const override {
    std::vector<int32_t> ids;
    encode_into(text, &ids);
    return ids;
  }

  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const override {
    std::string out;
    std::vector<int> run;
    auto flush_run = [&] {
      if (run.empty()) return;
      out += sp_->DecodeIds(run);
      run.clear();
    };
    for (int32_t id : ids) {
      const AddedToken* added = added_.find_by_id(id);
      const bool piece = id >= 0 && id < pieces_;
      if (added == nullptr && piece && !is_control_or_unknown(id)) {
        run.push_back(id);
        continue;
      }
      if (added == nullptr && !piece) continue;  // out of range: rendered as nothing
      flush_run();
      if (skip_special_tokens && is_special(id)) continue;
      out += added != nullptr ? added->content : sp_->IdToPiece(id);
    }
    flush_run();
    return is_valid_utf8(out) ? out : lossy_utf8(out);
  }

  std::optional<int32_t> token_to_id(std::string_view token) const override {
    if (auto id = added_.find_by_content(token)) return id;
    const int id = sp_->PieceToId(token);
    if (id < 0 || id >= pieces_ || sp_->IdToPiece(id) != token) return std::nullopt;
    return id;
  }

  std::optional<std::string> id_to_token(int32_t id) const override {
    if (const AddedToken* t = added_.find_by_id(id)) return t->content;
    if (id < 0 || id >= pieces_) return std::nullopt;
    return sp_->IdToPiece(id);
  }

  int32_t vocab_size() const override { return vocab_size_; }
  bool is_special(int32_t id) const override {
    if (const AddedToken* t = added_.find_by_id(id)) return t->special;
    return id >= 0 && id < pieces_ && is_control_or_unknown(id);
  }
  std::optional<int32_t> bos_id() const override { return bos_; }
  std::optional<int32_t> eos_id() const override { return eos_; }
  bool adds_bos() const override { return add_bos_; }
  std::string kind() const override { return "SentencePiece (tokenizer.model)"; }
  size_t added_token_count() const override { return added_.size(); }

  // Set once by the loader, before the tokenizer is shared.
  void set_special(std::optional<int32_t> bos, std::optional<int32_t> eos, bool add_bos,
                   bool add_eos) {
    bos_ = bos;
    eos_ = eos;
    add_bos_ = add_bos;
    add_eos_ = add_eos;
  }

 private:
  bool is_control_or_unknown(int32_t id) const { return sp_->IsControl(id) || sp_->IsUnknown(id); }

  void encode_into(std::string_view text, std::vector<int32_t>* out) const {
    std::string repaired;
    if (!is_valid_utf8(text)) {
      repaired = lossy_utf8(text);
      text = repaired;
    }
    std::vector<TextSegment> segments;
    added_.raw_matcher().split(text, &segments);
    std::vector<int> ids;
    for (const TextSegment& seg : segments) {
      if (seg.id >= 0) {
        out->push_back(seg.id);
        continue;
      }
      ids.clear();
      // Encode only fails for an unloaded model, which the loader rules out.
      if (sp_->Encode(text.substr(seg.begin, seg.end - seg.begin), &ids).ok()) {
        out->insert(out->end(), ids.begin(), ids.end());
      }
    }
  }

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  AddedVocab added_;
  int32_t pieces_;
  int32_t vocab_size_;
  std::optional<int32_t> bos_;
  std::optional<int32_t> eos_;
  bool add_bos_ = false;
  bool add_eos_ = false;
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> load_sentencepiece(const fs::path& dir) {
  const fs::path file = dir / "tokenizer.model";
  IVL_ASSIGN_OR_RETURN(std::string bytes, read_file_bytes(file));
  auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
  if (const auto st = sp->LoadFromSerializedProto(bytes); !st.ok()) {
    return Status::corrupt(file.string() + ": not a usable SentencePiece model (" + st.ToString() +
                           ")");
  }
  if (sp->GetPieceSize() <= 0) {
    return Status::corrupt(file.string() + ": the SentencePiece model has no pieces");
  }

  IVL_ASSIGN_OR_RETURN(TokenizerConfig config, read_tokenizer_config(dir));
  IVL_ASSIGN_OR_RETURN(std::set<std::string> special_names, read_special_token_names(dir, config));
  IVL_ASSIGN_OR_RETURN(std::vector<AddedToken> added,
                       read_slow_added_tokens(dir, config, special_names));
  IVL_ASSIGN_OR_RETURN(
      AddedVocab vocab,
      AddedVocab::build(
          std::move(added), Normalizer(),
          {.use_normalized_flag = false, .split_special_tokens = config.split_special_tokens},
          (dir / "added_tokens.json").string() + " / tokenizer_config.json"));

  auto piece_name = [&](int id) -> std::optional<std::string> {
    if (id < 0 || id >= sp->GetPieceSize()) return std::nullopt;
    return sp->IdToPiece(id);
  };
  // InternLM2Tokenizer's defaults: bos "<s>", eos "</s>" — i.e. the model's own BOS/EOS.
  const std::optional<std::string> bos_name =
      config.bos_token ? config.bos_token : piece_name(sp->bos_id());
  const std::optional<std::string> eos_name =
      config.eos_token ? config.eos_token : piece_name(sp->eos_id());
  auto tokenizer = std::make_unique<SentencePieceTokenizer>(std::move(sp), std::move(vocab));
  const auto bos = bos_name ? tokenizer->token_to_id(*bos_name) : std::nullopt;
  const auto eos = eos_name ? tokenizer->token_to_id(*eos_name) : std::nullopt;
  const std::string config_name = (dir / "tokenizer_config.json").string();
  if (config.add_bos_token.value_or(false) && !bos) {
    return Status::corrupt(config_name + ": add_bos_token is true but there is no BOS token");
  }
  if (config.add_eos_token.value_or(false) && !eos) {
    return Status::corrupt(config_name + ": add_eos_token is true but there is no EOS token");
  }
  tokenizer->set_special(bos, eos, config.add_bos_token.value_or(true) && bos.has_value(),
                         config.add_eos_token.value_or(false));
  return std::unique_ptr<Tokenizer>(std::move(tokenizer));
}

}  // namespace ivl::tok
