#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace ivl::tok {
namespace {

constexpr int32_t kNoMerge = std::numeric_limits<int32_t>::max();

uint64_t pair_key(int32_t left, int32_t right) {
  return uint64_t{static_cast<uint32_t>(left)} << 32 | static_cast<uint32_t>(right);
}

std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  out.append(s);
  out.push_back('"');
  return out;
}

}  // namespace

// --- BpeSpec ---

void BpeSpec::add_token(std::string_view token, int64_t id) {
  tokens_.push_back({token_arena_.size(), token.size(), id});
  token_arena_.append(token);
}

void BpeSpec::add_merge(std::string_view left, std::string_view right, size_t line) {
  merges_.push_back({merge_arena_.size(), static_cast<uint32_t>(left.size()),
                     static_cast<uint32_t>(right.size()), line});
  merge_arena_.append(left);
  merge_arena_.append(right);
}

void BpeSpec::reserve(size_t tokens, size_t merges, size_t bytes) {
  tokens_.reserve(tokens);
  merges_.reserve(merges);
  token_arena_.reserve(bytes);
  merge_arena_.reserve(bytes);
}

// --- PairMap ---

void BpeModel::PairMap::reserve(size_t count) {
  // Load factor in (0.375, 0.75]: short probe sequences without a table much larger than L2.
  const size_t capacity = std::bit_ceil(std::max<size_t>(16, count + count / 3));
  slots_.assign(capacity, Slot{kEmpty, {0, 0}});
  shift_ = 64 - std::countr_zero(capacity);
}

size_t BpeModel::PairMap::slot_of(uint64_t key) const {
  return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
}

void BpeModel::PairMap::insert(int32_t left, int32_t right, Merge merge) {
  const uint64_t key = pair_key(left, right);
  const size_t mask = slots_.size() - 1;
  for (size_t i = slot_of(key);; i = (i + 1) & mask) {
    if (slots_[i].key == kEmpty || slots_[i].key == key) {
      slots_[i] = Slot{key, merge};
      return;
    }
  }
}

const BpeModel::Merge* BpeModel::PairMap::find(int32_t left, int32_t right) const {
  const uint64_t key = pair_key(left, right);
  const size_t mask = slots_.size() - 1;
  for (size_t i = slot_of(key);; i = (i + 1) & mask) {
    if (slots_[i].key == key) return &slots_[i].merge;
    if (slots_[i].key == kEmpty) return nullptr;
  }
}

// --- build ---

Result<std::unique_ptr<BpeModel>> BpeModel::build(BpeSpec spec, std::string_view vocab_source,
                                                  std::string_view merges_source) {
  const std::string src(vocab_source);
  std::unique_ptr<BpeModel> m(new BpeModel());
  int64_t max_id = -1;
  size_t total_bytes = 0;
  for (size_t i = 0; i < spec.token_count(); ++i) {
    const int64_t id = spec.token_id(i);
    if (id < 0 || id > kMaxTokenId) {
      return Status::corrupt(src + ": token " + quoted(spec.token(i)) + " has id " +
                             std::to_string(id) + ", outside [0, " + std::to_string(kMaxTokenId) +
                             "]");
    }
    max_id = std::max(max_id, id);
    total_bytes += spec.token(i).size();
  }
  if (total_bytes >= std::numeric_limits<uint32_t>::max() / 4) {
    return Status::corrupt(src + ": the vocabulary is implausibly large");
  }
  const auto table_size = static_cast<size_t>(max_id + 1);
  constexpr size_t kNone = ~size_t{0};
  std::vector<size_t> by_id(table_size, kNone);  // index into spec's token list
  for (size_t i = 0; i < spec.token_count(); ++i) {
    const auto id = static_cast<size_t>(spec.token_id(i));
    if (by_id[id] != kNone) {
      return Status::corrupt(src + ": tokens " + quoted(spec.token(by_id[id])) + " and " +
                             quoted(spec.token(i)) + " both have id " + std::to_string(id));
    }
    if (!is_valid_utf8(spec.token(i))) {
      return Status::corrupt(src + ": the token with id " + std::to_string(id) +
                             " is not valid UTF-8");
    }
    by_id[id] = i;
  }

  m->present_.assign(table_size, false);
  m->token_offsets_.resize(table_size + 1);
  m->decoded_offsets_.resize(table_size + 1);
  m->token_arena_.reserve(total_bytes);
  m->decoded_arena_.reserve(total_bytes);
  for (size_t id = 0; id < table_size; ++id) {
    m->token_offsets_[id] = static_cast<uint32_t>(m->token_arena_.size());
    m->decoded_offsets_[id] = static_cast<uint32_t>(m->decoded_arena_.size());
    if (by_id[id] == kNone) continue;
    m->present_[id] = true;
    m->token_arena_.append(spec.token(by_id[id]));
    append_byte_level_decoded(spec.token(by_id[id]), &m->decoded_arena_);
  }
  m->token_offsets_[table_size] = static_cast<uint32_t>(m->token_arena_.size());
  m->decoded_offsets_[table_size] = static_cast<uint32_t>(m->decoded_arena_.size());
  m->size_ = spec.token_count();

  // The token index: linear probing, load factor <= 0.5.
  m->index_.assign(std::bit_ceil(std::max<size_t>(16, m->size_ * 2)), -1);
  const size_t mask = m->index_.size() - 1;
  for (size_t id = 0; id < table_size; ++id) {
    if (!m->present_[id]) continue;
    const std::string_view token = m->token_view(id);
    for (size_t slot = std::hash<std::string_view>{}(token)&mask;; slot = (slot + 1) & mask) {
      const int32_t other = m->index_[slot];
      if (other < 0) {
        m->index_[slot] = static_cast<int32_t>(id);
        break;
      }
      if (m->token_view(static_cast<size_t>(other)) == token) {
        return Status::corrupt(src + ": token " + quoted(token) + " is listed twice");
      }
    }
  }

  for (int b = 0; b < 256; ++b) {
    std::string ch;
    append_utf8(byte_to_char(static_cast<uint8_t>(b)), &ch);
    m->byte_ids_[static_cast<size_t>(b)] = m->token_to_id(ch).value_or(-1);
  }

  m->merges_.reserve(spec.merge_count());
  std::string joined;
  for (size_t rank = 0; rank < spec.merge_count(); ++rank) {
    const std::string_view left = spec.merge_left(rank);
    const std::string_view right = spec.merge_right(rank);
    joined.assign(left).append(right);
    const auto l = m->token_to_id(left);
    const auto r = m->token_to_id(right);
    const auto j = m->token_to_id(joined);
    if (!l || !r || !j) {
      const std::string_view missing = !l ? left : !r ? right : std::string_view(joined);
      const std::string where = spec.merge_line(rank) != 0
                                    ? "line " + std::to_string(spec.merge_line(rank))
                                    : "merge " + std::to_string(rank + 1);
      return Status::corrupt(std::string(merges_source) + ": " + where + " (" +
                             quoted(std::string(left) + " " + std::string(right)) + ") refers to " +
                             quoted(missing) + ", which is not in the vocabulary");
    }
    m->merges_.insert(*l, *r, Merge{static_cast<int32_t>(rank), *j});
  }

  if (spec.unk_token) {
    const auto unk = m->token_to_id(*spec.unk_token);
    if (!unk) {
      return Status::corrupt(src + ": unk_token " + quoted(*spec.unk_token) +
                             " is not in the vocabulary");
    }
    m->unk_id_ = *unk;
  }
  m->fuse_unk_ = spec.fuse_unk;
  m->ignore_merges_ = spec.ignore_merges;
  return m;
}

// --- lookups ---

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const size_t mask = index_.size() - 1;
  for (size_t slot = std::hash<std::string_view>{}(token)&mask;; slot = (slot + 1) & mask) {
    const int32_t id = index_[slot];
    if (id < 0) return std::nullopt;
    if (token_view(static_cast<size_t>(id)) == token) return id;
  }
}

std::optional<std::string_view> BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= present_.size() || !present_[static_cast<size_t>(id)]) {
    return std::nullopt;
  }
  return token_view(static_cast<size_t>(id));
}

std::string_view BpeModel::decoded_bytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= present_.size()) return {};
  const auto i = static_cast<size_t>(id);
  return std::string_view(decoded_arena_)
      .substr(decoded_offsets_[i], decoded_offsets_[i + 1] - decoded_offsets_[i]);
}

// --- encoding ---

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>* out) const {
  if (word.empty()) return;
  if (word.size() == 1) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(word[0])];
    if (id >= 0) {
      out->push_back(id);
    } else if (unk_id_ >= 0) {
      out->push_back(unk_id_);
    }
    return;
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable && cache_.find(word, out)) return;

  thread_local std::vector<int32_t> symbols;
  symbols.clear();
  bool whole = false;
  if (ignore_merges_) {
    std::string text;
    append_byte_level(word, &text);
    if (auto id = token_to_id(text)) {
      symbols.push_back(*id);
      whole = true;
    }
  }
  if (!whole) {
    for (char c : word) {
      int32_t id = byte_ids_[static_cast<uint8_t>(c)];
      if (id < 0) {
        if (unk_id_ < 0) continue;
        if (fuse_unk_ && !symbols.empty() && symbols.back() == unk_id_) continue;
        id = unk_id_;
      }
      symbols.push_back(id);
    }
    if (symbols.size() <= kSmallWordSymbols) {
      merge_small(&symbols);
    } else {
      merge_large(&symbols);
    }
  }
  out->insert(out->end(), symbols.begin(), symbols.end());
  if (cacheable) cache_.insert(word, symbols.data(), symbols.size());
}

// Short words: keep the rank of every adjacent pair in an array and rescan it for the minimum
// after each merge. Picks the same merge as merge_large (lowest rank, leftmost on ties).
void BpeModel::merge_small(std::vector<int32_t>* symbols) const {
  std::array<Merge, kSmallWordSymbols> pair{};
  size_t n = symbols->size();
  int32_t* sym = symbols->data();
  auto rate = [&](size_t i) {
    const Merge* m = merges_.find(sym[i], sym[i + 1]);
    pair[i] = m ? *m : Merge{kNoMerge, -1};
  };
  for (size_t i = 0; i + 1 < n; ++i) rate(i);
  while (n >= 2) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (pair[i].rank < pair[best].rank) best = i;
    }
    if (pair[best].rank == kNoMerge) break;
    sym[best] = pair[best].id;
    std::memmove(sym + best + 1, sym + best + 2, (n - best - 2) * sizeof(int32_t));
    if (best + 3 <= n) {
      std::memmove(pair.data() + best + 1, pair.data() + best + 2, (n - best - 3) * sizeof(Merge));
    }
    --n;
    if (best > 0) rate(best - 1);
    if (best + 1 < n) rate(best);
  }
  symbols->resize(n);
}

// Long words: a doubly linked list of symbols and a min-heap of candidate merges keyed by
// (rank, position). Entries made stale by an earlier merge are skipped when popped, so every
// merge costs O(log n) instead of a rescan of the word.
void BpeModel::merge_large(std::vector<int32_t>* symbols) const {
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  const auto n = static_cast<int32_t>(symbols->size());
  std::vector<Symbol> sym(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    sym[static_cast<size_t>(i)] = {(*symbols)[static_cast<size_t>(i)], i - 1,
                                   i + 1 < n ? i + 1 : -1};
  }
  std::vector<Candidate> heap;
  heap.reserve(static_cast<size_t>(n));
  auto consider = [&](int32_t pos) {
    const Symbol& s = sym[static_cast<size_t>(pos)];
    if (s.next < 0) return;
    if (const Merge* m = merges_.find(s.id, sym[static_cast<size_t>(s.next)].id)) {
      heap.push_back({m->rank, pos});
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& s = sym[static_cast<size_t>(top.pos)];
    if (s.id < 0 || s.next < 0) continue;  // merged away, or now the last symbol
    Symbol& right = sym[static_cast<size_t>(s.next)];
    const Merge* m = merges_.find(s.id, right.id);
    if (m == nullptr || m->rank != top.rank) continue;  // the pair changed since it was queued
    s.id = m->id;
    right.id = -1;
    s.next = right.next;
    if (s.next >= 0) sym[static_cast<size_t>(s.next)].prev = top.pos;
    if (s.prev >= 0) consider(s.prev);
    consider(top.pos);
  }
  symbols->clear();
  for (int32_t i = 0; i >= 0; i = sym[static_cast<size_t>(i)].next) {
    symbols->push_back(sym[static_cast<size_t>(i)].id);
  }
}

}  // namespace ivl::tok
