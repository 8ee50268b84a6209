// The official InternVL conversation templates (spec §6.3), with their exact strings.
//
// Rendering follows fastchat's MPT style, which every InternVL template uses:
//   system_template.format(system) + sep, then per message role + text + sep, and for the final
//   (empty) assistant message just the role. MPT_TWO (gpt-oss) ends a final non-empty assistant
//   message with sep2 instead of sep.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ivl/status.h"

namespace ivl::prompt {

struct ChatTemplate {
  std::string_view name;
  std::string_view system_template;  // contains "{system_message}"
  std::string_view user_role;
  std::string_view assistant_role;
  std::string_view sep;
  std::string_view sep2;  // non-empty only for MPT_TWO templates
  std::string_view default_system_message;
  // The token that ends an answer: sep.strip() (or sep2 for gpt-oss), spec §6.5.
  std::string_view stop_token;
};

// kUnsupported listing the known names when `name` is not one of them.
Result<const ChatTemplate*> find_chat_template(std::string_view name);

// All template names, in a fixed order.
std::vector<std::string_view> chat_template_names();

// R1_SYSTEM_PROMPT: the system message that switches InternVL3.5 into thinking mode (spec §11.3).
extern const std::string_view kThinkingSystemPrompt;

}  // namespace ivl::prompt
