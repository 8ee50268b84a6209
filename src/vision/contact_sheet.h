// A picture of how an image was cut: the tiles laid out in their grid with thin separators,
// the thumbnail (if any) to the right, so a person can check the tiling at a glance.
// Pure function; thread-safe.
#pragma once

#include "vision/image.h"
#include "vision/preprocess.h"

namespace ivl::vision {

inline constexpr int kSheetSeparator = 4;  // pixels between tiles
inline constexpr int kSheetThumbGap = 24;  // pixels between the grid and the thumbnail

// Width: cols*S + (cols-1)*sep [+ gap + S]; height: max(rows*S + (rows-1)*sep, S).
// Separators and background are dark gray (48, 48, 48).
RgbImage make_contact_sheet(const TiledImage& tiles);

}  // namespace ivl::vision
