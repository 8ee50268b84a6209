#include "tokenizer/bpe_tokenizer.h"

#include <algorithm>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace ivl::tok {

BpeTokenizer::BpeTokenizer(BpePipeline pipeline) : p_(std::move(pipeline)) {
  int32_t max_id = p_.model->max_id();
  for (const AddedToken& t : p_.added.tokens()) max_id = std::max(max_id, t.id);
  vocab_size_ = max_id + 1;
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids(p_.prefix_ids);
  encode_into(text, &ids);
  ids.insert(ids.end(), p_.suffix_ids.begin(), p_.suffix_ids.end());
  return ids;
}

std::vector<int32_t> BpeTokenizer::encode_without_special(std::string_view text) const {
  std::vector<int32_t> ids;
  encode_into(text, &ids);
  return ids;
}

void BpeTokenizer::encode_into(std::string_view text, std::vector<int32_t>* out) const {
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = lossy_utf8(text);
    text = repaired;
  }
  out->reserve(out->size() + text.size() / 3);
  std::vector<TextSegment> segments;
  p_.added.raw_matcher().split(text, &segments);
  std::string normalized_storage;
  std::vector<TextSegment> inner;
  for (const TextSegment& seg : segments) {
    if (seg.id >= 0) {
      out->push_back(seg.id);
      continue;
    }
    const std::string_view normalized =
        p_.normalizer.apply(text.substr(seg.begin, seg.end - seg.begin), &normalized_storage);
    if (p_.added.normalized_matcher().empty()) {
      encode_plain(normalized, out);
      continue;
    }
    inner.clear();
    p_.added.normalized_matcher().split(normalized, &inner);
    for (const TextSegment& part : inner) {
      if (part.id >= 0) {
        out->push_back(part.id);
      } else {
        encode_plain(normalized.substr(part.begin, part.end - part.begin), out);
      }
    }
  }
}

void BpeTokenizer::encode_plain(std::string_view text, std::vector<int32_t>* out) const {
  if (text.empty()) return;
  // Per-thread scratch: this runs once per text segment, and two fresh vectors each time
  // show up in profiles of short inputs.
  thread_local std::vector<std::pair<size_t, size_t>> pieces;
  thread_local std::vector<std::pair<size_t, size_t>> refined;
  pieces.assign(1, {0, text.size()});
  for (const RegexSplitter& splitter : p_.splitters) {
    refined.clear();
    for (const auto& [begin, end] : pieces) {
      const size_t first = refined.size();
      splitter.split(text.substr(begin, end - begin), &refined);
      for (size_t i = first; i < refined.size(); ++i) {
        refined[i].first += begin;
        refined[i].second += begin;
      }
    }
    pieces.swap(refined);
  }
  for (const auto& [begin, end] : pieces)
    p_.model->encode_word(text.substr(begin, end - begin), out);
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string bytes;
  bytes.reserve(ids.size() * 4);
  for (int32_t id : ids) {
    if (const AddedToken* t = p_.added.find_by_id(id)) {
      if (skip_special_tokens && t->special) continue;
      append_byte_level_decoded(t->content, &bytes);
    } else {
      bytes.append(p_.model->decoded_bytes(id));
    }
  }
  return lossy_utf8(bytes);
}

std::optional<int32_t> BpeTokenizer::token_to_id(std::string_view token) const {
  if (auto id = p_.added.find_by_content(token)) return id;
  return p_.model->token_to_id(token);
}

std::optional<std::string> BpeTokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* t = p_.added.find_by_id(id)) return t->content;
  if (auto s = p_.model->id_to_token(id)) return std::string(*s);
  return std::nullopt;
}

bool BpeTokenizer::is_special(int32_t id) const {
  const AddedToken* t = p_.added.find_by_id(id);
  return t != nullptr && t->special;
}

bool BpeTokenizer::adds_bos() const {
  return p_.bos_id.has_value() && !p_.prefix_ids.empty() && p_.prefix_ids.front() == *p_.bos_id;
}

}  // namespace ivl::tok
