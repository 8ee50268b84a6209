// `internvl chat`: an interactive multi-turn conversation in the terminal.
//   /image PATH   attach an image to the next question      /system TEXT  set the system message
//   /reset        forget the conversation and images        /quit         leave (or Ctrl-D)
// Every turn re-sends the whole conversation, as the official chat() does with its history.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/generation_flags.h"

namespace ivl::cli {
namespace {

struct ChatOptions {
  EngineFlags engine;
  SamplingFlags sampling;
  int max_tiles = 0;
  bool stats = false;
};

struct ChatState {
  std::vector<std::pair<std::string, std::string>> history;
  std::vector<ImageInput> images;   // all images so far, in placeholder order
  std::vector<ImageInput> pending;  // attached to the next question
  std::optional<std::string> system;

  void reset() {
    history.clear();
    images.clear();
    pending.clear();
  }
};

constexpr const char* kHelp =
    "commands: /image PATH (attach to the next question), /system TEXT, /reset, /quit\n";

int run_chat(const ChatOptions& o) {
  auto engine = load_engine(o.engine);
  if (!engine.ok()) return report_error(engine.status());
  auto session = (*engine)->new_session();
  ChatState state;
  std::fprintf(stderr, "%s", kHelp);
  std::string line;
  while (true) {
    std::fputs("> ", stdout);
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line == "/quit" || line == "/exit") break;
    if (line == "/reset") {
      state.reset();
      std::fputs("(conversation cleared)\n", stdout);
      continue;
    }
    if (line.rfind("/image ", 0) == 0) {
      state.pending.push_back({.path = line.substr(7)});
      std::printf("(image attached: %s)\n", line.substr(7).c_str());
      continue;
    }
    if (line.rfind("/system ", 0) == 0) {
      state.system = line.substr(8);
      std::fputs("(system message set)\n", stdout);
      continue;
    }
    if (line[0] == '/') {
      std::fputs(kHelp, stdout);
      continue;
    }
    // Placeholders are written into the question of the turn an image arrives with, so later
    // turns re-render them exactly where they were asked.
    std::string question;
    for (size_t i = 0; i < state.pending.size(); ++i) question += "<image>\n";
    question += line;
    Request req;
    req.prompt = question;
    req.history = state.history;
    req.images = state.images;
    req.images.insert(req.images.end(), state.pending.begin(), state.pending.end());
    req.system_message = state.system;
    req.max_tiles = o.max_tiles;
    req.sampling = o.sampling.to_options();
    auto response = session->generate(req, [](const GeneratedToken& t) {
      std::fputs(t.text.c_str(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::fputs("\n", stdout);
    if (!response.ok()) {
      report_error(response.status());
      state.pending.clear();  // the failed turn is not kept
      continue;
    }
    state.images = req.images;
    state.pending.clear();
    state.history.emplace_back(question, response->text);
    if (o.stats) print_stats(**engine, *response);
  }
  return 0;
}

}  // namespace

void add_chat_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* sub = app.add_subcommand(
      "chat", "Interactive multi-turn chat (/image PATH, /system TEXT, /reset, /quit)");
  add_engine_flags(sub, &o->engine);
  sub->add_option("--max-tiles", o->max_tiles, "Tiles per image (default: the model's)")
      ->check(CLI::Range(1, 64));
  add_sampling_flags(sub, &o->sampling);
  sub->add_flag("--stats", o->stats, "Print timings and peak memory after each answer");
  sub->callback([o, exit_code] { *exit_code = run_chat(*o); });
}

}  // namespace ivl::cli
