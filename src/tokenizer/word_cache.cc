#include "tokenizer/word_cache.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <string>

namespace ivl::tok {
namespace {

std::atomic<uint64_t> next_cache_id{1};

// A fast multiply-xorshift hash over 8-byte words. The low bits pick the slot; bits 32..63
// are kept in the slot as a tag that rules out most key comparisons.
uint64_t hash_of(std::string_view word) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (word.size() * 0xFF51AFD7ED558CCDull);
  size_t i = 0;
  for (; i + 8 <= word.size(); i += 8) {
    uint64_t chunk = 0;
    std::memcpy(&chunk, word.data() + i, 8);
    h = (h ^ chunk) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  if (i < word.size()) {
    uint64_t chunk = 0;
    std::memcpy(&chunk, word.data() + i, word.size() - i);
    h = (h ^ chunk) * 0xBF58476D1CE4E5B9ull;
  }
  h ^= h >> 29;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 32;
  return h | (uint64_t{1} << 32);  // the tag is never 0
}

}  // namespace

struct WordCache::Table {
  struct Slot {    // 16 bytes: probing this array is where the cache misses are
    uint32_t tag;  // bits 32..63 of the hash; 0 = empty slot
    uint32_t key_offset;
    uint32_t ids_offset;
    uint16_t key_size;
    uint16_t ids_size;
  };

  uint64_t owner = 0;  // id of the WordCache this table serves; 0 = unused
  uint64_t last_use = 0;
  std::vector<Slot> slots;  // power-of-two size, load factor <= 0.5
  std::string keys;
  std::vector<int32_t> ids;
  size_t count = 0;

  // Starts small and doubles, so that the slot array (where lookups miss the CPU caches)
  // stays as small as the set of words actually seen.
  static constexpr size_t kInitialSlots = 1024;

  void reset() {
    slots.assign(kInitialSlots, Slot{0, 0, 0, 0, 0});
    keys.clear();
    ids.clear();
    count = 0;
  }

  void grow() {
    std::vector<Slot> old(slots.size() * 2, Slot{0, 0, 0, 0, 0});
    old.swap(slots);
    for (const Slot& s : old) {
      if (s.tag == 0) continue;
      const std::string_view key(keys.data() + s.key_offset, s.key_size);
      probe(key, hash_of(key)) = s;
    }
  }

  // The slot holding `word`, or the empty slot where it would go.
  Slot& probe(std::string_view word, uint64_t h) {
    const auto tag = static_cast<uint32_t>(h >> 32);
    const size_t mask = slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots[i];
      if (s.tag == 0 || (s.tag == tag && s.key_size == word.size() &&
                         std::memcmp(keys.data() + s.key_offset, word.data(), word.size()) == 0)) {
        return s;
      }
    }
  }
};

WordCache::WordCache(size_t capacity)
    : id_(next_cache_id.fetch_add(1, std::memory_order_relaxed)), capacity_(capacity) {}

WordCache::Table& WordCache::table() const {
  thread_local std::array<Table, kTablesPerThread> tables;
  thread_local uint64_t clock = 0;
  ++clock;
  Table* lru = &tables[0];
  for (Table& t : tables) {
    if (t.owner == id_) {
      t.last_use = clock;
      return t;
    }
    if (t.last_use < lru->last_use) lru = &t;
  }
  lru->owner = id_;
  lru->last_use = clock;
  lru->reset();
  return *lru;
}

bool WordCache::find(std::string_view word, std::vector<int32_t>* out) const {
  Table& t = table();
  const Table::Slot& s = t.probe(word, hash_of(word));
  if (s.tag == 0) return false;
  const int32_t* ids = t.ids.data() + s.ids_offset;
  out->insert(out->end(), ids, ids + s.ids_size);
  return true;
}

void WordCache::insert(std::string_view word, const int32_t* ids, size_t count) const {
  if (word.size() > UINT16_MAX || count > UINT16_MAX) return;
  Table& t = table();
  if (t.count >= capacity_) {
    t.reset();
  } else if ((t.count + 1) * 2 > t.slots.size()) {
    t.grow();
  }
  const uint64_t h = hash_of(word);
  Table::Slot& s = t.probe(word, h);
  if (s.tag != 0) return;  // already cached
  s = Table::Slot{static_cast<uint32_t>(h >> 32), static_cast<uint32_t>(t.keys.size()),
                  static_cast<uint32_t>(t.ids.size()), static_cast<uint16_t>(word.size()),
                  static_cast<uint16_t>(count)};
  t.keys.append(word);
  t.ids.insert(t.ids.end(), ids, ids + count);
  ++t.count;
}

}  // namespace ivl::tok
