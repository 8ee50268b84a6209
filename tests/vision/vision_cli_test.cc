// `internvl tiles` and `internvl frames` run as a user would run them: output checked against
// the reference fixtures, broken inputs give a clear error and exit code 1, never a crash.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "core/sha256.h"
#include "support/fixtures.h"
#include "vision/image_source.h"
#if IVL_VIDEO_ENABLED
#include "vision/video_writer.h"
#endif
#include "vision/encoders.h"

namespace ivl::vision {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

CliRun run(const std::vector<std::string>& args) {
  static int counter = 0;
  const auto dir = ivl::test::scratch_dir("vision_cli_" + std::to_string(::getpid()) + "_" +
                                          std::to_string(counter++));
  std::string cmd = quote(IVL_CLI_PATH);
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " </dev/null >" + quote((dir / "out").string()) + " 2>" + quote((dir / "err").string());
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ivl::test::read_text_file(dir / "out");
  r.err = ivl::test::read_text_file(dir / "err");
  return r;
}

TEST(TilesCommand, JsonMatchesReferenceAndRawBytesAreTheTiles) {
  const auto images = ivl::test::read_json_file(ivl::test::fixture("images.json"));
  const auto& want = images["odd_1023x767.jpg"]["by_max_num"]["6"];
  const auto dir = ivl::test::scratch_dir("vision_cli_tiles_" + std::to_string(::getpid()));
  const std::string raw = (dir / "tiles.raw").string(), sheet = (dir / "sheet.png").string();
  CliRun r = run({"tiles", ivl::test::fixture("images/odd_1023x767.jpg").string(), "--max-tiles",
                  "6", "--json", "--raw", raw, "-o", sheet});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["grid"], want["grid"]);
  EXPECT_EQ(j["num_tiles"], want["num_tiles"]);
  EXPECT_EQ(j["tiles_uint8_sha256"], want["tiles_uint8_sha256"]);
  EXPECT_EQ(j["image_tokens"], 7 * 256);
  const std::string bytes = ivl::test::read_text_file(raw);
  EXPECT_EQ(bytes.size(), 7u * 448 * 448 * 3);
  EXPECT_EQ(sha256_hex(std::as_bytes(std::span(bytes))), want["tiles_uint8_sha256"]);
  // The sheet: 3x2 grid with 4-pixel separators, a 24-pixel gap, the thumbnail.
  auto sheet_img = load_image_file(sheet);
  ASSERT_TRUE(sheet_img.ok()) << sheet_img.status().to_string();
  EXPECT_EQ(sheet_img->width(), 3 * 448 + 2 * 4 + 24 + 448);
  EXPECT_EQ(sheet_img->height(), 2 * 448 + 4);

  CliRun text = run({"tiles", ivl::test::fixture("images/square_448.png").string()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("grid: 1x1"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("tiles: 1 (1) of 448x448"), std::string::npos) << text.out;
}

TEST(TilesCommand, BrokenInputsFailCleanly) {
  const auto dir = ivl::test::scratch_dir("vision_cli_bad_" + std::to_string(::getpid()));
  const std::string full = ivl::test::read_text_file(ivl::test::fixture("images/odd_1023x767.jpg"));
  const std::string cut = (dir / "cut.jpg").string(), empty = (dir / "empty.png").string();
  const std::string junk = (dir / "junk.mp4").string();
  std::ofstream(cut, std::ios::binary).write(full.data(), 5000);
  std::ofstream(empty, std::ios::binary).flush();
  std::ofstream(junk, std::ios::binary) << "not a video, just some text that FFmpeg cannot probe";
  const std::vector<std::vector<std::string>> cases = {
      {"tiles", cut},
      {"tiles", empty},
      {"tiles", (dir / "missing.jpg").string()},
      {"tiles", "data:image/png;base64,@@@"},
      {"tiles", ivl::test::fixture("images/square_448.png").string(), "--max-tiles", "0"},
      {"frames", (dir / "missing.mp4").string()},
      {"frames", junk},
      {"frames", empty},
  };
  for (const auto& args : cases) {
    CliRun r = run(args);
    EXPECT_EQ(r.exit_code, 1) << args[1] << ": " << r.err;
    EXPECT_EQ(r.err.rfind("internvl: error: ", 0), 0u) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

#if IVL_VIDEO_ENABLED
TEST(FramesCommand, PrintsSampledIndicesAndTimestamps) {
  const auto path =
      (ivl::test::scratch_dir("vision_cli_video_" + std::to_string(::getpid())) / "clip.mkv")
          .string();
  test::write_test_video(
      {.path = path, .codec = "ffv1", .width = 16, .height = 16, .frames = 300, .fps = 30},
      [](int) { return test::synthetic_image(16, 16); });
  CliRun r = run({"frames", path, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // video_index.json case 1: fps 30, max_frame 299, 8 segments.
  EXPECT_EQ(j["indices"], nlohmann::json({18, 55, 93, 130, 168, 205, 242, 280}));
  EXPECT_EQ(j["frame_count"], 300);
  EXPECT_NEAR(j["timestamps"][1].get<double>(), 55.0 / 30, 1e-3);  // Matroska: 1 ms units
  CliRun text = run({"frames", path, "--segments", "2", "--bound", "1", "2"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("Frame2: index"), std::string::npos) << text.out;
  // A bound whose frame index no int64 holds, or no number at all: an error, not a conversion
  // with undefined behaviour.
  for (const char* bad : {"1e300", "-1e300", "nan", "inf"}) {
    CliRun refused = run({"frames", path, "--bound", "0", bad});
    EXPECT_EQ(refused.exit_code, 1) << bad << ": " << refused.out;
    EXPECT_NE(refused.err.find("a video bound must be a finite time within"), std::string::npos)
        << bad << ": " << refused.err;
  }
}
#endif

}  // namespace
}  // namespace ivl::vision
