#include "tokenizer/added_vocab.h"

#include <algorithm>

#include "tokenizer/utf8.h"

namespace ivl::tok {
namespace {

// Start of the code point that ends just before `pos` (pos > 0, valid UTF-8).
size_t previous_char_start(std::string_view s, size_t pos) {
  size_t i = pos - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

bool word_char_before(std::string_view s, size_t pos) {
  if (pos == 0) return false;
  char32_t cp = 0;
  decode_utf8(s, previous_char_start(s, pos), &cp);
  return is_word_char(cp);
}

bool word_char_after(std::string_view s, size_t pos) {
  if (pos >= s.size()) return false;
  char32_t cp = 0;
  decode_utf8(s, pos, &cp);
  return is_word_char(cp);
}

// Where the run of white space that ends at `pos` begins.
size_t white_space_run_start(std::string_view s, size_t pos) {
  while (pos > 0) {
    const size_t prev = previous_char_start(s, pos);
    char32_t cp = 0;
    decode_utf8(s, prev, &cp);
    if (!is_white_space(cp)) break;
    pos = prev;
  }
  return pos;
}

// Where the run of white space that starts at `pos` ends.
size_t white_space_run_end(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    char32_t cp = 0;
    const size_t len = decode_utf8(s, pos, &cp);
    if (!is_white_space(cp)) break;
    pos += len;
  }
  return pos;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<Pattern> patterns)
    : patterns_(std::move(patterns)) {
  nodes_.emplace_back();
  for (size_t p = 0; p < patterns_.size(); ++p) {
    const std::string& text = patterns_[p].text;
    if (text.empty()) continue;
    first_byte_[static_cast<uint8_t>(text[0])] = true;
    int32_t node = 0;
    for (char c : text) {
      const auto byte = static_cast<uint8_t>(c);
      int32_t next = -1;
      for (const auto& [b, child] : nodes_[node].children) {
        if (b == byte) next = child;
      }
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        nodes_[node].children.emplace_back(byte, next);
        nodes_.emplace_back();
      }
      node = next;
    }
    nodes_[node].pattern = static_cast<int32_t>(p);  // a later duplicate wins, as in HF
  }
}

int32_t AddedTokenMatcher::longest_at(std::string_view text, size_t pos, size_t* len) const {
  int32_t best = -1;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto byte = static_cast<uint8_t>(text[i]);
    int32_t next = -1;
    for (const auto& [b, child] : nodes_[node].children) {
      if (b == byte) {
        next = child;
        break;
      }
    }
    if (next < 0) break;
    node = next;
    if (nodes_[node].pattern >= 0) {
      best = nodes_[node].pattern;
      *len = i + 1 - pos;
    }
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextSegment>* out) const {
  size_t emitted = 0;  // text before this is already covered by segments
  size_t pos = 0;      // where the search for the next match resumes
  while (pos < text.size() && !patterns_.empty()) {
    if (!first_byte_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t len = 0;
    const int32_t p = longest_at(text, pos, &len);
    if (p < 0) {
      ++pos;
      continue;
    }
    const Pattern& pattern = patterns_[static_cast<size_t>(p)];
    size_t start = pos;
    size_t stop = pos + len;
    pos = stop;
    if (start < emitted) continue;  // inside white space an rstrip token already took
    if (pattern.single_word && (word_char_before(text, start) || word_char_after(text, stop))) {
      continue;
    }
    if (pattern.lstrip) start = std::max(white_space_run_start(text, start), emitted);
    if (pattern.rstrip) stop = white_space_run_end(text, stop);
    if (start > emitted) out->push_back({emitted, start, -1});
    out->push_back({start, stop, pattern.id});
    emitted = stop;
    pos = std::max(pos, stop);
  }
  if (emitted < text.size()) out->push_back({emitted, text.size(), -1});
}

Result<AddedVocab> AddedVocab::build(std::vector<AddedToken> tokens, const Normalizer& normalizer,
                                     AddedVocabOptions options, std::string_view source) {
  AddedVocab v;
  std::erase_if(tokens, [](const AddedToken& t) { return t.content.empty(); });
  std::stable_sort(tokens.begin(), tokens.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  for (AddedToken& t : tokens) {
    if (t.id < 0) {
      return Status::corrupt(std::string(source) + ": added token \"" + t.content +
                             "\" has a negative id " + std::to_string(t.id));
    }
    if (!is_valid_utf8(t.content)) {
      return Status::corrupt(std::string(source) + ": added token with id " + std::to_string(t.id) +
                             " is not valid UTF-8");
    }
    if (auto it = v.by_content_.find(t.content); it != v.by_content_.end()) {
      if (it->second != t.id) {
        return Status::corrupt(std::string(source) + ": added token \"" + t.content +
                               "\" is listed with two ids, " + std::to_string(it->second) +
                               " and " + std::to_string(t.id));
      }
      v.tokens_[v.by_id_.at(t.id)] = t;  // same token twice: the later flags win
      continue;
    }
    if (auto it = v.by_id_.find(t.id); it != v.by_id_.end()) {
      return Status::corrupt(std::string(source) + ": added token id " + std::to_string(t.id) +
                             " is used by both \"" + v.tokens_[it->second].content + "\" and \"" +
                             t.content + "\"");
    }
    v.by_content_.emplace(t.content, t.id);
    v.by_id_.emplace(t.id, v.tokens_.size());
    v.tokens_.push_back(std::move(t));
  }

  std::vector<AddedTokenMatcher::Pattern> raw;
  std::vector<AddedTokenMatcher::Pattern> normalized;
  for (const AddedToken& t : v.tokens_) {
    if (options.split_special_tokens && t.special) continue;
    AddedTokenMatcher::Pattern p{t.content, t.id, t.single_word, t.lstrip, t.rstrip};
    if (options.use_normalized_flag && t.normalized) {
      p.text = normalizer.apply(t.content);
      normalized.push_back(std::move(p));
    } else {
      raw.push_back(std::move(p));
    }
  }
  v.raw_ = AddedTokenMatcher(std::move(raw));
  v.normalized_ = AddedTokenMatcher(std::move(normalized));
  return v;
}

const AddedToken* AddedVocab::find_by_id(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int32_t> AddedVocab::find_by_content(std::string_view content) const {
  auto it = by_content_.find(content);
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ivl::tok
