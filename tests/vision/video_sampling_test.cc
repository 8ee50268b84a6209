// get_index against the reference fixture (../shared/fixtures/video_index.json).
#include <gtest/gtest.h>

#include <cmath>

#include "support/fixtures.h"
#include "vision/video_sampling.h"

namespace ivl::vision {
namespace {

TEST(VideoSampling, MatchesOfficialGetIndex) {
  const auto j = ivl::test::read_json_file(ivl::test::fixture("video_index.json"));
  ASSERT_GE(j["cases"].size(), 4u);
  for (const auto& c : j["cases"]) {
    SCOPED_TRACE(c.dump());
    FrameSampling s;
    if (!c["bound"].is_null()) s.bound = {c["bound"][0].get<double>(), c["bound"][1].get<double>()};
    s.fps = c["fps"].get<double>();
    s.max_frame = c["max_frame"].get<int64_t>();
    s.num_segments = c["num_segments"].get<int>();
    EXPECT_EQ(sample_frame_indices(s), c["indices"].get<std::vector<int64_t>>());
  }
}

TEST(VideoSampling, RoundsHalfToEven) {
  // seg = 4 / 8 = 0.5: idx_k = int(0.25 + np.round(0.5 * k)), and np.round(0.5), (1.5),
  // (2.5), (3.5) are 0, 2, 2, 4 (half to even). Values computed with NumPy.
  FrameSampling s;
  s.fps = 1;
  s.max_frame = 4;
  s.num_segments = 8;
  EXPECT_EQ(sample_frame_indices(s), (std::vector<int64_t>{0, 0, 1, 2, 2, 2, 3, 4}));
  s.num_segments = 0;
  EXPECT_TRUE(sample_frame_indices(s).empty());
}

TEST(VideoSampling, BoundsMustBeFiniteAndWithinRange) {
  FrameSampling s;
  s.fps = 30;
  s.max_frame = 299;
  s.num_segments = 8;
  EXPECT_TRUE(check_frame_sampling(s).ok());
  s.bound = {-kMaxBoundSeconds, kMaxBoundSeconds};
  EXPECT_TRUE(check_frame_sampling(s).ok());
  EXPECT_EQ(sample_frame_indices(s).size(), 8u);
  for (const double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL, 1e300, kMaxBoundSeconds * 1.5}) {
    s.bound = {0.0, bad};
    EXPECT_EQ(check_frame_sampling(s).code(), StatusCode::kInvalidArgument) << bad;
    s.bound = {bad, 1.0};
    EXPECT_EQ(check_frame_sampling(s).code(), StatusCode::kInvalidArgument) << bad;
  }
  s.bound.reset();
  for (const double bad : {std::nan(""), HUGE_VAL, kMaxFramesPerSecond * 1.5}) {
    s.fps = bad;
    EXPECT_EQ(check_frame_sampling(s).code(), StatusCode::kInvalidArgument) << bad;
  }
  // The extremes allowed together still give int64 indices (no undefined conversion: the
  // sanitizer build checks float-cast-overflow).
  s.fps = kMaxFramesPerSecond;
  s.bound = {-kMaxBoundSeconds, kMaxBoundSeconds};
  s.max_frame = INT64_MAX / 2;
  ASSERT_TRUE(check_frame_sampling(s).ok());
  EXPECT_EQ(sample_frame_indices(s).size(), 8u);
}

TEST(VideoSampling, PromptPrefix) {
  EXPECT_EQ(video_prompt_prefix(3), "Frame1: <image>\nFrame2: <image>\nFrame3: <image>\n");
  EXPECT_EQ(video_prompt_prefix(0), "");
}

}  // namespace
}  // namespace ivl::vision
