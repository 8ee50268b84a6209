#include "vision/contact_sheet.h"

#include <algorithm>
#include <cstring>

namespace ivl::vision {
namespace {

void paste_tile(const TiledImage& t, int k, RgbImage* sheet, int x0, int y0) {
  const size_t row_bytes = static_cast<size_t>(t.tile_size) * 3;
  const uint8_t* src = t.tile(k).data();
  for (int y = 0; y < t.tile_size; ++y) {
    std::memcpy(sheet->row(y0 + y) + static_cast<size_t>(x0) * 3, src + row_bytes * y, row_bytes);
  }
}

}  // namespace

RgbImage make_contact_sheet(const TiledImage& t) {
  const int s = t.tile_size, cols = t.grid.cols, rows = t.grid.rows;
  const int grid_w = cols * s + (cols - 1) * kSheetSeparator;
  const int grid_h = rows * s + (rows - 1) * kSheetSeparator;
  const int width = grid_w + (t.has_thumbnail ? kSheetThumbGap + s : 0);
  const int height = std::max(grid_h, s);
  RgbImage sheet(width, height);
  std::memset(sheet.data(), 48, sheet.size_bytes());
  for (int k = 0; k < cols * rows; ++k) {
    paste_tile(t, k, &sheet, (k % cols) * (s + kSheetSeparator),
               (k / cols) * (s + kSheetSeparator));
  }
  if (t.has_thumbnail) paste_tile(t, cols * rows, &sheet, grid_w + kSheetThumbGap, 0);
  return sheet;
}

}  // namespace ivl::vision
