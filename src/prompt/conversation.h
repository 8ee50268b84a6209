// Conversations and their rendering into the prompt string the LLM sees (spec §6.2–6.3),
// exactly as the official `chat()` builds it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ivl/status.h"
#include "prompt/chat_template.h"

namespace ivl::prompt {

inline constexpr std::string_view kImagePlaceholder = "<image>";
inline constexpr std::string_view kImageStart = "<img>";
inline constexpr std::string_view kImageEnd = "</img>";
inline constexpr std::string_view kImageContext = "<IMG_CONTEXT>";

enum class Role { kUser, kAssistant };

struct Message {
  Role role = Role::kUser;
  std::string text;  // may contain `<image>` placeholders
};

struct Conversation {
  // nullopt: the template's default system message. An empty string is a real (empty) message.
  std::optional<std::string> system_message;
  // user, assistant, user, ..., user: strictly alternating, starting and ending with user.
  std::vector<Message> messages;
};

// Renders the conversation and the generation prompt (the final assistant role). kInvalidArgument
// if the messages do not alternate user/assistant starting and ending with a user message.
Result<std::string> render_conversation(const ChatTemplate& tmpl, const Conversation& conversation);

// The official chat() inputs: a question, earlier (question, answer) turns, and how many images
// accompany the request. When there is no history, at least one image, and the question has no
// `<image>`, "<image>\n" is prepended to the question (spec §6.2).
struct ChatTurns {
  std::string question;
  std::vector<std::pair<std::string, std::string>> history;
  size_t num_images = 0;
  std::optional<std::string> system_message;
};
Conversation conversation_from_chat(const ChatTurns& turns);

size_t count_image_placeholders(std::string_view text);

// Replaces, for each image in order, the first remaining `<image>` with `<img>` +
// `<IMG_CONTEXT>` × (tokens_per_tile · tiles) + `</img>`. The number of placeholders must equal
// the number of images: kInvalidArgument otherwise, saying which is larger.
Result<std::string> expand_image_placeholders(std::string_view prompt,
                                              std::span<const int64_t> tiles_per_image,
                                              int64_t tokens_per_tile);

}  // namespace ivl::prompt
