// `internvl run` and `internvl chat` end to end through the real executable.
#include <gtest/gtest.h>

#include <fstream>

#include "cli/cli_runner.h"
#include "support/fixtures.h"

namespace ivl::test {
namespace {

using nlohmann::json;

std::string model(const std::string& name) {
  return fixture("models/" + name).string();
}
std::string image(const std::string& name) {
  return fixture("images/" + name).string();
}

json reference_case(const std::string& ref, const std::string& name) {
  return read_json_file(fixture("reference/" + ref + ".json"))["cases"][name];
}

json last_line_json(const std::string& out) {
  size_t end = out.find_last_not_of('\n');
  size_t start = out.rfind('\n', end);
  return json::parse(out.substr(start == std::string::npos ? 0 : start + 1,
                                end - (start == std::string::npos ? 0 : start + 1) + 1));
}

TEST(CliRun, GreedyJsonMatchesReferenceWithImage) {
  json ref = reference_case("tiny-internvl3-qwen2", "single_portrait");
  CliResult r = run_cli({"run", "-m", model("tiny-internvl3-qwen2"), "--image",
                         image("portrait_800x1300.jpg"), "-p", "What is in the picture?", "-n",
                         "20", "--ignore-eos", "--json", "--logprobs", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = last_line_json(r.out);
  EXPECT_EQ(j["prompt_tokens"], ref["input_ids_len"]);
  EXPECT_EQ(j["generated_ids"], ref["greedy_20"]);
  EXPECT_EQ(j["finish_reason"], "length");
  EXPECT_EQ(j["tiles_per_image"], json::array({7}));
  ASSERT_EQ(j["logprobs"].size(), 20u);
  EXPECT_EQ(j["logprobs"][0]["top"].size(), 3u);
  EXPECT_EQ(j["logprobs"][0]["top"][0]["id"], ref["greedy_20"][0]);
  EXPECT_TRUE(j.contains("timings_ms"));
}

TEST(CliRun, MessagesFileMatchesReference) {
  json ref = reference_case("tiny-internvl35-qwen3-v", "multi_image");
  auto dir = scratch_dir("cli_run_messages");
  json messages = json::array(
      {{{"role", "user"},
        {"content", json::array({{{"type", "text"}, {"text", "Image-1: "}},
                                 {{"type", "image"}, {"path", image("gray_640x480.jpg")}},
                                 {{"type", "text"}, {"text", "Image-2: "}},
                                 {{"type", "image_url"},
                                  {"image_url", {{"url", image("tiny_rgba_37x19.png")}}}},
                                 {{"type", "text"}, {"text", "What are the differences?"}}})}}});
  std::ofstream(dir / "m.json") << messages.dump();
  CliResult r = run_cli({"run", "-m", model("tiny-internvl35-qwen3-v-hf"), "--messages",
                         (dir / "m.json").string(), "--max-tiles", "6", "-n", "20", "--ignore-eos",
                         "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = last_line_json(r.out);
  EXPECT_EQ(j["prompt_tokens"], ref["input_ids_len"]);
  EXPECT_EQ(j["generated_ids"], ref["greedy_20"]);
}

TEST(CliRun, StreamsTextAndStats) {
  CliResult r =
      run_cli({"run", "-m", model("tiny-internvl3-qwen2"), "-p", "Hi", "-n", "5", "--stats",
               "--temperature", "0.8", "--top-p", "0.9", "--top-k", "40", "--seed", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  EXPECT_NE(r.err.find("peak RSS"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("decode"), std::string::npos) << r.err;
  CliResult again =
      run_cli({"run", "-m", model("tiny-internvl3-qwen2"), "-p", "Hi", "-n", "5", "--temperature",
               "0.8", "--top-p", "0.9", "--top-k", "40", "--seed", "3"});
  EXPECT_EQ(again.out, r.out) << "same seed, same text";
}

TEST(CliRun, BadRequestsFailCleanly) {
  struct Case {
    std::vector<std::string> args;
    const char* needle;
  };
  auto dir = scratch_dir("cli_run_bad");
  std::ofstream(dir / "broken.jpg") << "\xff\xd8\xff\xe0 not really a jpeg";
  const std::string m = model("tiny-internvl3-qwen2");
  const Case cases[] = {
      {{"run", "-m", m, "--image", image("square_448.png"), "-p", "<image> and <image>"},
       "placeholder"},
      {{"run", "-m", m, "-p", "<image> what?"}, "placeholder"},
      {{"run", "-m", m, "--image", (dir / "broken.jpg").string(), "-p", "x"}, "broken.jpg"},
      {{"run", "-m", m, "--image", (dir / "missing.png").string(), "-p", "x"}, "missing.png"},
      {{"run", "-m", m, "--image", image("square_448.png"), "-p", "x", "--context", "200"},
       "context"},
      {{"run", "-m", m, "-p", "x", "--messages", (dir / "none.json").string()}, "exactly one"},
      {{"run", "-m", m}, "exactly one"},
  };
  for (const Case& c : cases) {
    CliResult r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args.back() << ": " << r.err;
    EXPECT_FALSE(r.signaled);
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.needle << " in: " << r.err;
  }
}

TEST(CliRun, UnsupportedRopeIsAClearError) {
  auto dir = scratch_dir("cli_run_yarn");
  for (const auto& e :
       std::filesystem::directory_iterator(fixture("models/tiny-internvl35-qwen3-v"))) {
    if (e.path().filename() != "config.json")
      std::filesystem::create_symlink(e.path(), dir / e.path().filename());
  }
  json c = read_json_file(fixture("models/tiny-internvl35-qwen3-v/config.json"));
  c["llm_config"]["rope_scaling"] = {
      {"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 8192}};
  std::ofstream(dir / "config.json") << c.dump();
  CliResult r = run_cli({"run", "-m", dir.string(), "-p", "hi", "-n", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("yarn"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("supported: default, linear, dynamic"), std::string::npos) << r.err;
}

TEST(CliChat, MultiTurnWithImageThroughStdin) {
  auto dir = scratch_dir("cli_chat");
  std::ofstream(dir / "in.txt") << "/image " << image("square_448.png")
                                << "\nWhat is it?\nAnd now?\n/reset\nHi\n/quit\n";
  CliResult r = run_cli({"chat", "-m", model("tiny-internvl3-qwen2"), "-n", "3", "--stats"},
                        (dir / "in.txt").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(image attached"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(conversation cleared)"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("error"), std::string::npos) << r.err;
  // Three answers: the second turn re-sends the first turn and its image (1 image), the third
  // follows a reset (no image).
  size_t answers = 0;
  for (size_t p = r.err.find("peak RSS"); p != std::string::npos; p = r.err.find("peak RSS", p + 1))
    ++answers;
  EXPECT_EQ(answers, 3u) << r.err;
  EXPECT_NE(r.err.find("(1 image(s))"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(0 image(s))"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ivl::test
