// candidate_grids() and closest_grid(), InternVL's dynamic_preprocess grid selection.
//
// `sorted(set(...), key=lambda x: x[0] * x[1])` is stable, so grids with equal products keep
// the order in which the CPython set yields them, i.e. the order of their slots in the set's
// hash table. We rebuild that table exactly as CPython 3.8+ (64-bit) does for `set(genexpr)`:
// tuple hashes are xxHash-style over the element hashes (small ints hash to themselves), each
// insertion probes linearly through up to 10 slots and then jumps with the perturbed
// recurrence i = 5i + 1 + perturb, and the table grows x4 whenever fill * 5 >= mask * 3.
// The spec lists the resulting orders for max_num 6 and 12; the tests check both.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/check.h"
#include "vision/dynamic_tiling.h"

namespace ivl::vision {
namespace {

uint64_t cpython_tuple_hash(uint64_t a, uint64_t b) {
  constexpr uint64_t kPrime1 = 11400714785074694791ULL;
  constexpr uint64_t kPrime2 = 14029467366897019727ULL;
  constexpr uint64_t kPrime5 = 2870177450012600261ULL;
  uint64_t acc = kPrime5;
  for (uint64_t lane : {a, b}) {
    acc += lane * kPrime2;
    acc = (acc << 31) | (acc >> 33);
    acc *= kPrime1;
  }
  acc += 2 ^ (kPrime5 ^ 3527539ULL);
  if (acc == ~uint64_t{0}) return 1546275796;  // -1 is reserved for errors
  return acc;
}

class CPythonTupleSet {
 public:
  void add(Grid g) {
    const uint64_t hash =
        cpython_tuple_hash(static_cast<uint64_t>(g.cols), static_cast<uint64_t>(g.rows));
    size_t slot = find_slot(table_, hash, &g);
    if (table_[slot].used) return;  // already present
    table_[slot] = {true, hash, g};
    ++fill_;
    const size_t mask = table_.size() - 1;
    if (fill_ * 5 >= mask * 3) resize(fill_ > 50000 ? fill_ * 2 : fill_ * 4);
  }

  std::vector<Grid> in_slot_order() const {
    std::vector<Grid> out;
    for (const Entry& e : table_) {
      if (e.used) out.push_back(e.grid);
    }
    return out;
  }

 private:
  struct Entry {
    bool used = false;
    uint64_t hash = 0;
    Grid grid;
  };
  static constexpr size_t kLinearProbes = 9;
  static constexpr int kPerturbShift = 5;

  // The slot holding `key` (when given and present) or the first free slot on its probe path.
  static size_t find_slot(const std::vector<Entry>& table, uint64_t hash, const Grid* key) {
    const size_t mask = table.size() - 1;
    size_t i = hash & mask;
    uint64_t perturb = hash;
    for (;;) {
      const size_t probes = i + kLinearProbes <= mask ? kLinearProbes : 0;
      for (size_t j = i; j <= i + probes; ++j) {
        const Entry& e = table[j];
        if (!e.used) return j;
        if (key != nullptr && e.hash == hash && e.grid == *key) return j;
      }
      perturb >>= kPerturbShift;
      i = (i * 5 + 1 + perturb) & mask;
    }
  }

  void resize(size_t min_used) {
    size_t size = 8;
    while (size <= min_used) size <<= 1;
    std::vector<Entry> fresh(size);
    for (const Entry& e : table_) {
      if (e.used) fresh[find_slot(fresh, e.hash, nullptr)] = e;
    }
    table_ = std::move(fresh);
  }

  std::vector<Entry> table_ = std::vector<Entry>(8);
  size_t fill_ = 0;
};

}  // namespace

std::vector<Grid> candidate_grids(int min_num, int max_num) {
  IVL_CHECK(min_num >= 1 && min_num <= max_num);
  CPythonTupleSet set;
  for (int n = min_num; n <= max_num; ++n) {
    for (int i = 1; i <= n; ++i) {
      for (int j = 1; j <= n; ++j) {
        if (i * j <= max_num && i * j >= min_num) set.add({i, j});
      }
    }
  }
  std::vector<Grid> grids = set.in_slot_order();
  std::stable_sort(grids.begin(), grids.end(),
                   [](Grid a, Grid b) { return a.cols * a.rows < b.cols * b.rows; });
  return grids;
}

Grid closest_grid(int64_t width, int64_t height, const std::vector<Grid>& candidates,
                  int image_size) {
  IVL_CHECK(width >= 1 && height >= 1);
  // Python float arithmetic: every operand below is an exactly representable double.
  const double aspect = static_cast<double>(width) / static_cast<double>(height);
  const double area = static_cast<double>(width) * static_cast<double>(height);
  double best_diff = std::numeric_limits<double>::infinity();
  Grid best{1, 1};
  for (const Grid& g : candidates) {
    const double target = static_cast<double>(g.cols) / static_cast<double>(g.rows);
    const double diff = std::fabs(aspect - target);
    if (diff < best_diff) {
      best_diff = diff;
      best = g;
    } else if (diff == best_diff) {
      // Python evaluates 0.5 * image_size * image_size * i * j left to right in float.
      if (area > 0.5 * image_size * image_size * g.cols * g.rows) best = g;
    }
  }
  return best;
}

}  // namespace ivl::vision
