#include "prompt/conversation.h"

namespace ivl::prompt {
namespace {

std::string format_system(const ChatTemplate& t, std::string_view system) {
  std::string out(t.system_template);
  constexpr std::string_view kSlot = "{system_message}";
  auto pos = out.find(kSlot);
  if (pos != std::string::npos) out.replace(pos, kSlot.size(), system);
  return out;
}

}  // namespace

Result<std::string> render_conversation(const ChatTemplate& t, const Conversation& c) {
  if (c.messages.empty()) return Status::invalid_argument("the conversation has no messages");
  for (size_t i = 0; i < c.messages.size(); ++i) {
    Role expected = i % 2 == 0 ? Role::kUser : Role::kAssistant;
    if (c.messages[i].role != expected) {
      return Status::invalid_argument(
          "message " + std::to_string(i + 1) + " should be from the " +
          (expected == Role::kUser ? "user" : "assistant") +
          ": messages must alternate user/assistant, starting with the user");
    }
  }
  if (c.messages.back().role != Role::kUser) {
    return Status::invalid_argument("the last message must be from the user (it is answered)");
  }
  std::string out =
      format_system(t, c.system_message.value_or(std::string(t.default_system_message)));
  out += t.sep;
  for (const Message& m : c.messages) {
    out += m.role == Role::kUser ? t.user_role : t.assistant_role;
    out += m.text;
    out += t.sep;
  }
  out += t.assistant_role;  // generation prompt: the empty final assistant message
  return out;
}

Conversation conversation_from_chat(const ChatTurns& turns) {
  Conversation c;
  c.system_message = turns.system_message;
  for (const auto& [q, a] : turns.history) {
    c.messages.push_back({Role::kUser, q});
    c.messages.push_back({Role::kAssistant, a});
  }
  std::string question = turns.question;
  if (turns.history.empty() && turns.num_images > 0 && count_image_placeholders(question) == 0) {
    question = std::string(kImagePlaceholder) + "\n" + question;
  }
  c.messages.push_back({Role::kUser, std::move(question)});
  return c;
}

size_t count_image_placeholders(std::string_view text) {
  size_t n = 0;
  for (size_t pos = text.find(kImagePlaceholder); pos != std::string_view::npos;
       pos = text.find(kImagePlaceholder, pos + kImagePlaceholder.size())) {
    ++n;
  }
  return n;
}

Result<std::string> expand_image_placeholders(std::string_view prompt,
                                              std::span<const int64_t> tiles_per_image,
                                              int64_t tokens_per_tile) {
  size_t placeholders = count_image_placeholders(prompt);
  if (placeholders != tiles_per_image.size()) {
    return Status::invalid_argument(
        "the prompt has " + std::to_string(placeholders) + " <image> placeholder(s) but " +
        std::to_string(tiles_per_image.size()) + " image(s) were given" +
        (placeholders > tiles_per_image.size()
             ? ": attach an image for each placeholder"
             : ": add a placeholder for each image or drop images"));
  }
  std::string out;
  size_t from = 0;
  for (int64_t tiles : tiles_per_image) {
    if (tiles <= 0) return Status::invalid_argument("an image must have at least one tile");
    size_t pos = prompt.find(kImagePlaceholder, from);
    out.append(prompt.substr(from, pos - from));
    out += kImageStart;
    const int64_t n = tiles * tokens_per_tile;
    out.reserve(out.size() + static_cast<size_t>(n) * kImageContext.size() + 64);
    for (int64_t i = 0; i < n; ++i) out += kImageContext;
    out += kImageEnd;
    from = pos + kImagePlaceholder.size();
  }
  out.append(prompt.substr(from));
  return out;
}

}  // namespace ivl::prompt
