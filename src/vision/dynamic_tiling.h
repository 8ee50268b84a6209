// InternVL's grid choice (dynamic_preprocess / find_closest_aspect_ratio in the official
// internvl_chat code, InternVL spec section 2.2), reproduced exactly:
//  - candidates: the SET {(i, j) : min_num <= i*j <= max_num} built by CPython from the
//    comprehension over n in [min_num, max_num], i, j in [1, n], then sorted by i*j (stable).
//    Equal products keep CPython's set iteration order, which this file computes by replaying
//    CPython's set insertion (tuple hash, open addressing, resizes) - see candidate_grids.cc.
//  - closest ratio: first strictly smaller |W/H - i/j| wins; on an exact tie the later grid
//    wins when W*H > 0.5 * S^2 * i * j (the source has more than half the pixels of the canvas).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace ivl::vision {

// i = tile columns, j = tile rows.
struct Grid {
  int cols = 1;
  int rows = 1;
  friend bool operator==(const Grid&, const Grid&) = default;
};

// The candidate grids in the official order. Requires 1 <= min_num <= max_num (checked).
std::vector<Grid> candidate_grids(int min_num, int max_num);

// find_closest_aspect_ratio(W / H, candidates, W, H, image_size). Requires W, H >= 1.
Grid closest_grid(int64_t width, int64_t height, const std::vector<Grid>& candidates,
                  int image_size);

}  // namespace ivl::vision
