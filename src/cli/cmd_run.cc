// `internvl run`: one request — prompt or messages, images, sampling — streamed to stdout.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "io/json_util.h"

namespace ivl::cli {
namespace {

struct RunOptions {
  EngineFlags engine;
  SamplingFlags sampling;
  std::vector<std::string> images;
  std::string prompt;
  std::string messages_file;
  std::string system;
  bool have_system = false;
  bool thinking = false;
  int max_tiles = 0;
  bool json = false;
  bool stats = false;
};

nlohmann::ordered_json response_json(const Response& r, int logprobs) {
  nlohmann::ordered_json j;
  j["prompt_tokens"] = r.prompt_ids.size();
  j["generated_ids"] = r.generated_ids;
  j["text"] = r.text;
  j["finish_reason"] = finish_reason_name(r.finish_reason);
  j["tiles_per_image"] = r.tiles_per_image;
  j["timings_ms"] = {{"preprocess", r.timings.preprocess_ms},
                     {"vision", r.timings.vision_ms},
                     {"prefill", r.timings.prefill_ms},
                     {"decode", r.timings.decode_ms}};
  if (logprobs > 0) {
    nlohmann::ordered_json lp = nlohmann::ordered_json::array();
    for (const GeneratedToken& t : r.tokens) {
      nlohmann::ordered_json top = nlohmann::ordered_json::array();
      for (const TokenLogprob& c : t.top) top.push_back({{"id", c.id}, {"logprob", c.logprob}});
      lp.push_back({{"id", t.id}, {"logprob", t.logprob}, {"top", top}});
    }
    j["logprobs"] = lp;
  }
  return j;
}

int run(const RunOptions& o) {
  Request req;
  if (o.prompt.empty() == o.messages_file.empty()) {
    return report_error(Status::invalid_argument("give exactly one of -p TEXT or --messages FILE"));
  }
  if (!o.messages_file.empty()) {
    if (!o.images.empty()) {
      return report_error(
          Status::invalid_argument("with --messages, put images in the messages (image parts)"));
    }
    auto json = io::read_json_file(o.messages_file);
    if (!json.ok()) return report_error(json.status());
    req.messages_json = json->dump();
  } else {
    req.prompt = o.prompt;
    for (const std::string& p : o.images) req.images.push_back({.path = p});
  }
  if (o.have_system) req.system_message = o.system;
  req.thinking = o.thinking;
  req.max_tiles = o.max_tiles;
  req.sampling = o.sampling.to_options();

  auto engine = load_engine(o.engine);
  if (!engine.ok()) return report_error(engine.status());
  auto session = (*engine)->new_session();
  const bool stream = !o.json;
  auto response = session->generate(req, [&](const GeneratedToken& t) {
    if (stream) {
      std::fputs(t.text.c_str(), stdout);
      std::fflush(stdout);
    }
    return true;
  });
  if (!response.ok()) return report_error(response.status());
  if (stream) {
    std::fputs("\n", stdout);
    std::fflush(stdout);  // the answer's end before --stats goes to stderr
  }
  if (o.stats) print_stats(**engine, *response);
  if (o.json) std::cout << response_json(*response, o.sampling.logprobs).dump() << "\n";
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* sub =
      app.add_subcommand("run", "Answer one prompt (with images) and stream the answer");
  add_engine_flags(sub, &o->engine);
  sub->add_option("--image", o->images, "Image file (repeat for several; each fills one <image>)");
  sub->add_option(
      "-p,--prompt", o->prompt,
      "Question; official chat() rules: '<image>\\n' is prepended when images are given "
      "and the text has no <image>");
  sub->add_option("--messages", o->messages_file,
                  "JSON file with an OpenAI-style message list (text/image/image_url parts)");
  CLI::Option* system =
      sub->add_option("--system", o->system, "System message (default: the template's)");
  sub->add_flag("--thinking", o->thinking,
                "InternVL3.5 thinking mode (its reasoning system prompt)");
  sub->add_option("--max-tiles", o->max_tiles,
                  "Tiles per image (default: the model's max_dynamic_patch)")
      ->check(CLI::Range(1, 64));
  add_sampling_flags(sub, &o->sampling);
  sub->add_flag("--json", o->json,
                "Print one JSON object (ids, text, finish_reason, timings) instead of streaming");
  sub->add_flag("--stats", o->stats, "Print timings and peak memory to stderr");
  sub->callback([o, exit_code, system] {
    o->have_system = system->count() > 0;
    *exit_code = run(*o);
  });
}

}  // namespace ivl::cli
