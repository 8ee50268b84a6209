// VideoReader on videos the test writes itself: exact pixels through lossless FFV1, and
// frame-accurate seeking through MPEG-4 with B-frames; plus load_video_tiles and bad files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "support/fixtures.h"
#include "vision/encoders.h"
#include "vision/video_input.h"
#include "vision/video_sampling.h"
#include "vision/video_writer.h"

namespace ivl::vision {
namespace {

const std::string& ffv1_video() {
  static const std::string path = [] {
    auto p =
        (ivl::test::scratch_dir("video_ffv1_" + std::to_string(::getpid())) / "clip.mkv").string();
    test::write_test_video({.path = p, .codec = "ffv1", .frames = 30, .fps = 25},
                           [](int i) { return test::synthetic_image(64, 48, 100 + i); });
    return p;
  }();
  return path;
}

TEST(VideoReader, LosslessFramesAreExactInAnyOrder) {
  auto reader = VideoReader::open(ffv1_video());
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  EXPECT_EQ((*reader)->frame_count(), 30);
  EXPECT_DOUBLE_EQ((*reader)->average_fps(), 25.0);
  EXPECT_EQ((*reader)->width(), 64);
  EXPECT_NEAR((*reader)->frame_time(10), 0.4, 1e-9);
  const std::vector<int64_t> wanted = {29, 3, 3, 0, 17, 16, 28, 1};
  auto frames = (*reader)->read_frames(wanted);
  ASSERT_TRUE(frames.ok()) << frames.status().to_string();
  for (size_t i = 0; i < wanted.size(); ++i) {
    const RgbImage want = test::synthetic_image(64, 48, 100 + static_cast<uint32_t>(wanted[i]));
    ASSERT_EQ(std::memcmp((*frames)[i].data(), want.data(), want.size_bytes()), 0)
        << "frame " << wanted[i];
  }
  EXPECT_EQ((*reader)->read_frames(std::vector<int64_t>{30}).status().code(),
            StatusCode::kOutOfRange);
}

TEST(VideoReader, SeeksFrameAccuratelyWithBFrames) {
  const auto path =
      (ivl::test::scratch_dir("video_mpeg4_" + std::to_string(::getpid())) / "clip.mp4").string();
  test::write_test_video(
      {.path = path, .codec = "mpeg4", .frames = 90, .fps = 30, .gop = 12, .max_b_frames = 2},
      [](int i) { return test::index_pattern(i, 64, 48); });
  auto reader = VideoReader::open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  ASSERT_EQ((*reader)->frame_count(), 90);
  FrameSampling s{.fps = (*reader)->average_fps(), .max_frame = 89, .num_segments = 8};
  std::vector<int64_t> wanted = sample_frame_indices(s);
  for (int64_t i = 89; i >= 0; i -= 7) wanted.push_back(i);
  auto frames = (*reader)->read_frames(wanted);
  ASSERT_TRUE(frames.ok()) << frames.status().to_string();
  for (size_t i = 0; i < wanted.size(); ++i) {
    EXPECT_EQ(test::read_index_pattern((*frames)[i]), wanted[i]);
  }
}

TEST(VideoInput, EachFrameIsOneBicubicTileAndThePromptNamesEachFrame) {
  auto v = load_video_tiles(ffv1_video(), {.num_segments = 4});
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->frame_indices, (std::vector<int64_t>{3, 10, 17, 25}));
  EXPECT_EQ(v->tiles.num_tiles, 4);
  EXPECT_EQ(v->tiles_per_frame, (std::vector<int>{1, 1, 1, 1}));
  EXPECT_EQ(v->prompt_prefix, video_prompt_prefix(4));
  for (int k = 0; k < 4; ++k) {
    EXPECT_NEAR(v->timestamps[k], static_cast<double>(v->frame_indices[k]) / 25, 1e-9);
    const RgbImage frame =
        test::synthetic_image(64, 48, 100 + static_cast<uint32_t>(v->frame_indices[k]));
    const RgbImage tile = resize_bicubic(frame, 448, 448);
    EXPECT_EQ(std::memcmp(v->tiles.tile(k).data(), tile.data(), tile.size_bytes()), 0);
  }
}

TEST(VideoReader, BrokenFilesAreErrors) {
  const auto dir = ivl::test::scratch_dir("video_bad_" + std::to_string(::getpid()));
  EXPECT_EQ(VideoReader::open((dir / "missing.mp4").string()).status().code(),
            StatusCode::kNotFound);
  {
    std::ofstream f(dir / "text.mp4");
    f << "this is not a video";
  }
  auto r = VideoReader::open((dir / "text.mp4").string());
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("text.mp4"), std::string::npos);
  // Truncated copies: either a clear error or fewer frames that still decode.
  const std::string full = ivl::test::read_text_file(ffv1_video());
  for (size_t cut : {size_t{10}, full.size() / 3, full.size() * 2 / 3, full.size() - 5}) {
    const auto path = (dir / ("cut" + std::to_string(cut) + ".mkv")).string();
    std::ofstream(path, std::ios::binary).write(full.data(), static_cast<std::streamsize>(cut));
    auto reader = VideoReader::open(path);
    if (!reader.ok()) continue;
    std::vector<int64_t> all;
    for (int64_t i = 0; i < (*reader)->frame_count(); ++i) all.push_back(i);
    (void)(*reader)->read_frames(all);  // must not crash; may report an error
  }
  EXPECT_EQ(load_video_tiles(ffv1_video(), {.num_segments = 0}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ivl::vision
