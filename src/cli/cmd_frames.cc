// `internvl frames`: which frames of a video InternVL samples (official get_index), with
// their timestamps.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "vision/video_decoder.h"
#include "vision/video_sampling.h"

namespace ivl::cli {
namespace {

struct FramesOptions {
  std::string video;
  int segments = 8;
  std::vector<double> bound;
  bool json = false;
};

int run_frames(const FramesOptions& o) {
  if (o.segments < 1 || o.segments > 1024) {
    return report_error(Status::invalid_argument("--segments must be in 1..1024"));
  }
  auto reader = vision::VideoReader::open(o.video);
  if (!reader.ok()) return report_error(reader.status());
  const vision::VideoReader& r = **reader;
  vision::FrameSampling s;
  if (o.bound.size() == 2) s.bound = std::pair{o.bound[0], o.bound[1]};
  s.fps = r.average_fps();
  s.max_frame = r.frame_count() - 1;
  s.num_segments = o.segments;
  if (Status c = vision::check_frame_sampling(s); !c.ok()) {
    return report_error(c.with_context(o.video));
  }
  const std::vector<int64_t> indices = vision::sample_frame_indices(s);
  std::vector<double> times;
  for (int64_t i : indices) {
    if (i < 0 || i >= r.frame_count()) {
      return report_error(Status::out_of_range(o.video + ": sampled frame " + std::to_string(i) +
                                               " is outside the video (check --bound)"));
    }
    times.push_back(r.frame_time(i));
  }
  if (o.json) {
    nlohmann::json j = {{"video", o.video},       {"frame_count", r.frame_count()},
                        {"fps", r.average_fps()}, {"width", r.width()},
                        {"height", r.height()},   {"num_segments", o.segments},
                        {"indices", indices},     {"timestamps", times}};
    if (s.bound) j["bound"] = {s.bound->first, s.bound->second};
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::cout << o.video << ": " << r.frame_count() << " frames at " << r.average_fps() << " fps, "
            << r.width() << "x" << r.height() << "\n";
  for (size_t k = 0; k < indices.size(); ++k) {
    std::cout << "Frame" << k + 1 << ": index " << indices[k] << ", " << std::fixed
              << std::setprecision(3) << times[k] << " s\n";
  }
  return 0;
}

}  // namespace

void add_frames_command(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<FramesOptions>();
  CLI::App* sub = app.add_subcommand(
      "frames", "Print the frames InternVL samples from VIDEO (indices and timestamps)");
  sub->add_option("video", opts->video, "Video file")->required();
  sub->add_option("--segments", opts->segments, "Number of frames to sample (default 8)");
  sub->add_option("--bound", opts->bound, "START END in seconds: sample only this span")
      ->expected(2);
  sub->add_flag("--json", opts->json, "Print one JSON object instead of text");
  sub->callback([opts, exit_code] { *exit_code = run_frames(*opts); });
}

}  // namespace ivl::cli
