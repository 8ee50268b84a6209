#include "prompt/reference_cases.h"

#include <map>
#include <stdexcept>

#include "support/fixtures.h"

namespace ivl::test {

std::vector<ReferenceCase> reference_cases(const std::string& model) {
  static const std::map<std::string, prompt::ChatTurns> kInputs = {
      {"text_only", {.question = "Who are you? Answer in one word."}},
      {"single_square", {.question = "Describe this image in detail.", .num_images = 1}},
      {"single_portrait", {.question = "What is in the picture?", .num_images = 1}},
      {"multi_image",
       {.question = "Image-1: <image>\nImage-2: <image>\nWhat are the differences?",
        .num_images = 2}},
      {"multi_turn",
       {.question = "And the colours?",
        .history = {{"<image>\nWhat shape is it?", "A circle."}},
        .num_images = 1}},
      {"video_like",
       {.question =
            "Frame1: <image>\nFrame2: <image>\nFrame3: <image>\nWhat happens in this video?",
        .num_images = 3}},
  };
  nlohmann::json ref = read_json_file(fixture("reference/" + model + ".json"));
  std::vector<ReferenceCase> out;
  for (const auto& [name, c] : ref.at("cases").items()) {
    auto it = kInputs.find(name);
    if (it == kInputs.end())
      throw std::runtime_error("reference case without inputs in the test: " + name);
    ReferenceCase rc{name, it->second, c.at("num_patches_list").get<std::vector<int64_t>>(), c};
    out.push_back(std::move(rc));
  }
  if (out.empty()) throw std::runtime_error("no cases in reference/" + model + ".json");
  return out;
}

std::string abbreviate_image_context(const std::string& prompt) {
  std::string run;
  for (int i = 0; i < 256; ++i) run += "<IMG_CONTEXT>";
  std::string out;
  size_t from = 0;
  for (size_t pos = prompt.find(run); pos != std::string::npos; pos = prompt.find(run, from)) {
    out.append(prompt, from, pos - from);
    out += "<IMG_CONTEXT*256>";
    from = pos + run.size();
  }
  out.append(prompt, from);
  return out;
}

}  // namespace ivl::test
