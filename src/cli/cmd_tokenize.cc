// `internvl tokenize`: the checkpoint tokenizer's ids for a text, or for a batch of texts.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "io/json_util.h"
#include "tokenizer/tokenizer.h"

namespace ivl::cli {
namespace {

struct TokenizeOptions {
  std::string model_dir;
  std::string text;
  std::string input_json;
  bool have_text = false;
};

int run_tokenize(const TokenizeOptions& o) {
  if (o.have_text == !o.input_json.empty()) {
    return report_error(
        Status::invalid_argument("give either TEXT or --input-json FILE (not both)"));
  }
  auto tokenizer = tok::load_tokenizer(o.model_dir);
  if (!tokenizer.ok()) return report_error(tokenizer.status());
  if (o.have_text) {
    std::cout << nlohmann::json((*tokenizer)->encode(o.text)).dump() << "\n";
    return 0;
  }
  auto input = io::read_json_file(o.input_json);
  if (!input.ok()) return report_error(input.status());
  if (!input->is_array()) {
    return report_error(
        Status::invalid_argument(o.input_json + ": expected a JSON array of strings"));
  }
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < input->size(); ++i) {
    const auto& item = (*input)[i];
    if (!item.is_string()) {
      return report_error(Status::invalid_argument(o.input_json + ": element " + std::to_string(i) +
                                                   " is not a string"));
    }
    out.push_back({{"ids", (*tokenizer)->encode(item.get<std::string>())}});
  }
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace

void add_tokenize_command(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<TokenizeOptions>();
  CLI::App* sub = app.add_subcommand(
      "tokenize", "Print the token ids of TEXT (or of each string in --input-json) as JSON");
  sub->add_option("-m,--model", opts->model_dir, "Checkpoint directory (its tokenizer files)")
      ->required()
      ->check(CLI::ExistingDirectory);
  CLI::Option* text = sub->add_option("text", opts->text, "Text to tokenize, taken literally");
  sub->add_option("--input-json", opts->input_json,
                  "JSON file holding an array of strings; prints an array of {\"ids\": [...]}");
  sub->callback([opts, exit_code, text] {
    opts->have_text = text->count() > 0;
    *exit_code = run_tokenize(*opts);
  });
}

}  // namespace ivl::cli
