// `internvl inspect`: open a checkpoint, check it completely, and describe it.
#include <iostream>

#include "cli/commands.h"
#include "cli/model_summary.h"

namespace ivl::cli {
namespace {

struct InspectOptions {
  std::string model_dir;
  bool json = false;
};

int run_inspect(const InspectOptions& o) {
  auto model = model::open_model_description(o.model_dir);
  if (!model.ok()) return report_error(model.status());
  auto tokenizer = tok::load_tokenizer(o.model_dir);
  if (!tokenizer.ok()) return report_error(tokenizer.status());
  auto tmpl = prompt::find_chat_template(model->config.template_name);
  if (!tmpl.ok()) return report_error(tmpl.status());
  auto tokens = model::resolve_special_tokens(**tokenizer, model->config, model->llm, **tmpl);
  if (!tokens.ok()) return report_error(tokens.status().with_context(o.model_dir));
  auto summary = summarize_model(*model, **tokenizer, **tmpl, *tokens);
  std::cout << (o.json ? summary.dump(2) + "\n" : format_summary(summary));
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand(
      "inspect",
      "Check a checkpoint completely (config, every tensor, tokenizer) and describe it: layout, "
      "architecture, parameters per component, dtypes, template, image settings, tokenizer");
  sub->add_option("-m,--model", opts->model_dir,
                  "Checkpoint directory (config.json, *.safetensors, tokenizer files)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_flag("--json", opts->json, "Print the description as JSON");
  sub->callback([opts, exit_code] { *exit_code = run_inspect(*opts); });
}

}  // namespace ivl::cli
