// Grid selection against the InternVL spec (section 2.2: candidate orders and worked examples)
// and the tiling rules (row-major crops, thumbnail only with more than one tile).
#include <gtest/gtest.h>

#include <cstring>

#include "vision/encoders.h"
#include "vision/preprocess.h"

namespace ivl::vision {
namespace {

std::vector<Grid> grids(std::initializer_list<std::pair<int, int>> list) {
  std::vector<Grid> out;
  for (auto [c, r] : list) out.push_back({c, r});
  return out;
}

TEST(CandidateGrids, MaxNum6MatchesCPythonSetOrder) {
  EXPECT_EQ(candidate_grids(1, 6), grids({{1, 1},
                                          {1, 2},
                                          {2, 1},
                                          {3, 1},
                                          {1, 3},
                                          {4, 1},
                                          {1, 4},
                                          {2, 2},
                                          {1, 5},
                                          {5, 1},
                                          {6, 1},
                                          {2, 3},
                                          {1, 6},
                                          {3, 2}}));
}

TEST(CandidateGrids, MaxNum12MatchesCPythonSetOrder) {
  EXPECT_EQ(candidate_grids(1, 12),
            grids({{1, 1},  {1, 2},  {2, 1},  {3, 1}, {1, 3}, {2, 2},  {4, 1}, {1, 4},  {5, 1},
                   {1, 5},  {1, 6},  {6, 1},  {3, 2}, {2, 3}, {7, 1},  {1, 7}, {4, 2},  {2, 4},
                   {1, 8},  {8, 1},  {1, 9},  {3, 3}, {9, 1}, {2, 5},  {5, 2}, {10, 1}, {1, 10},
                   {11, 1}, {1, 11}, {12, 1}, {3, 4}, {4, 3}, {1, 12}, {6, 2}, {2, 6}}));
}

TEST(CandidateGrids, EveryGridWithinBoundsOnce) {
  for (int min_num : {1, 2, 5}) {
    for (int max_num = min_num; max_num <= 40; ++max_num) {
      auto g = candidate_grids(min_num, max_num);
      size_t expected = 0;
      for (int i = 1; i <= max_num; ++i) {
        for (int j = 1; j <= max_num; ++j) expected += (i * j >= min_num && i * j <= max_num);
      }
      ASSERT_EQ(g.size(), expected) << min_num << ".." << max_num;
      for (size_t k = 1; k < g.size(); ++k) {
        ASSERT_LE(g[k - 1].cols * g[k - 1].rows, g[k].cols * g[k].rows);
      }
    }
  }
}

TEST(ClosestGrid, SpecWorkedExamples) {
  const auto c = candidate_grids(1, 12);
  struct Case {
    int w, h;
    Grid want;
  };
  const Case cases[] = {{448, 448, {1, 1}},  {800, 800, {2, 2}},   {1024, 768, {4, 3}},
                        {640, 480, {4, 3}},  {1920, 1080, {4, 2}}, {1280, 720, {4, 2}},
                        {500, 1500, {1, 3}}, {1000, 300, {3, 1}},  {224, 224, {1, 1}},
                        {3000, 3000, {3, 3}}};
  for (const Case& k : cases) {
    EXPECT_EQ(closest_grid(k.w, k.h, c, 448), k.want) << k.w << "x" << k.h;
  }
}

TEST(TileImage, ThumbnailOnlyWithMoreThanOneTileAndRowMajorCrops) {
  const RgbImage img = test::synthetic_image(900, 450);  // 2:1 -> grid (2, 1) with max 12
  auto t = tile_image(img, {});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->grid, (Grid{2, 1}));
  EXPECT_EQ(t->num_tiles, 3);
  EXPECT_TRUE(t->has_thumbnail);
  const RgbImage resized = resize_bicubic(img, 896, 448);
  const RgbImage right = crop(resized, 448, 0, 448, 448);
  EXPECT_EQ(std::memcmp(t->tile(1).data(), right.data(), right.size_bytes()), 0);
  const RgbImage thumb = resize_bicubic(img, 448, 448);
  EXPECT_EQ(std::memcmp(t->tile(2).data(), thumb.data(), thumb.size_bytes()), 0);

  TilingOptions no_thumb;
  no_thumb.use_thumbnail = false;
  EXPECT_EQ(tile_image(img, no_thumb)->num_tiles, 2);
  TilingOptions one;
  one.max_num = 1;
  auto single = tile_image(img, one);
  EXPECT_EQ(single->num_tiles, 1);
  EXPECT_FALSE(single->has_thumbnail);
  EXPECT_EQ(std::memcmp(single->tile(0).data(), thumb.data(), thumb.size_bytes()), 0);
}

TEST(TileImage, MaxNumFromRequestElseConfig) {
  EXPECT_EQ(make_tiling_options(448, 1, 12, true, std::nullopt).max_num, 12);
  EXPECT_EQ(make_tiling_options(448, 1, 12, true, 6).max_num, 6);
  const auto o = make_tiling_options(224, 2, 12, false, std::nullopt);
  EXPECT_EQ(o.image_size, 224);
  EXPECT_EQ(o.min_num, 2);
  EXPECT_FALSE(o.use_thumbnail);
}

TEST(TileImage, InvalidOptionsAreErrors) {
  const RgbImage img = test::synthetic_image(10, 10);
  TilingOptions bad;
  bad.max_num = 0;
  EXPECT_EQ(tile_image(img, bad).status().code(), StatusCode::kInvalidArgument);
  bad.max_num = kMaxTilesLimit + 1;
  EXPECT_EQ(tile_image(img, bad).status().code(), StatusCode::kInvalidArgument);
  TilingOptions bad_size;
  bad_size.image_size = 0;
  EXPECT_EQ(tile_image(img, bad_size).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tile_image(RgbImage(), {}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ivl::vision
