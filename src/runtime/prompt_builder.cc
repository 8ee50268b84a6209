#include "runtime/prompt_builder.h"

#include <nlohmann/json.hpp>

#include "prompt/messages.h"

namespace ivl::runtime {

Result<PromptPlan> plan_prompt(const Request& request, const io::ModelConfig& config,
                               const prompt::ChatTemplate& tmpl) {
  PromptPlan plan;
  prompt::Conversation conversation;
  if (!request.messages_json.empty()) {
    if (!request.prompt.empty() || !request.history.empty() || !request.images.empty()) {
      return Status::invalid_argument(
          "give either messages (OpenAI-style, images inside them) or a prompt with images, not "
          "both");
    }
    nlohmann::json messages;
    try {
      messages = nlohmann::json::parse(request.messages_json);
    } catch (const nlohmann::json::exception& e) {
      return Status::invalid_argument(std::string("messages are not valid JSON: ") + e.what());
    }
    IVL_ASSIGN_OR_RETURN(prompt::ParsedMessages parsed, prompt::parse_openai_messages(messages));
    conversation = std::move(parsed.conversation);
    for (auto& src : parsed.images) {
      ImageInput in;
      if (src.kind == prompt::ImageSource::Kind::kDataUri) {
        in.data_uri = std::move(src.value);
      } else {
        in.path = std::move(src.value);
      }
      plan.images.push_back(std::move(in));
    }
  } else {
    if (request.prompt.empty())
      return Status::invalid_argument("the request has no prompt and no messages");
    conversation = prompt::conversation_from_chat({.question = request.prompt,
                                                   .history = request.history,
                                                   .num_images = request.images.size()});
    plan.images = request.images;
  }
  if (request.system_message) {
    conversation.system_message = request.system_message;
  } else if (request.thinking) {
    conversation.system_message = std::string(prompt::kThinkingSystemPrompt);
  } else if (!conversation.system_message && config.system_message) {
    conversation.system_message = config.system_message;
  }
  IVL_ASSIGN_OR_RETURN(plan.rendered, prompt::render_conversation(tmpl, conversation));
  const size_t placeholders = prompt::count_image_placeholders(plan.rendered);
  if (placeholders != plan.images.size()) {
    return Status::invalid_argument(
        "the prompt has " + std::to_string(placeholders) + " <image> placeholder(s) but " +
        std::to_string(plan.images.size()) + " image(s) were given: use one placeholder per image");
  }
  return plan;
}

}  // namespace ivl::runtime
