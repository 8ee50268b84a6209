#include "prompt/chat_template.h"

#include <array>

namespace ivl::prompt {
namespace {

// InternVL2-era system message shared by Hermes-2, internlm2-chat and phi3-chat.
constexpr std::string_view kInternVL2System =
    "你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, "
    "是一个有用无害的人工智能助手。";

constexpr std::array<ChatTemplate, 5> kTemplates = {{
    {.name = "internvl2_5",
     .system_template = "<|im_start|>system\n{system_message}",
     .user_role = "<|im_start|>user\n",
     .assistant_role = "<|im_start|>assistant\n",
     .sep = "<|im_end|>\n",
     .sep2 = "",
     .default_system_message =
         "你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位"
         "联合开发的多模态大语言模型。",
     .stop_token = "<|im_end|>"},
    {.name = "internlm2-chat",
     .system_template = "<|im_start|>system\n{system_message}",
     .user_role = "<|im_start|>user\n",
     .assistant_role = "<|im_start|>assistant\n",
     .sep = "<|im_end|>",
     .sep2 = "",
     .default_system_message = kInternVL2System,
     .stop_token = "<|im_end|>"},
    {.name = "Hermes-2",
     .system_template = "<|im_start|>system\n{system_message}",
     .user_role = "<|im_start|>user\n",
     .assistant_role = "<|im_start|>assistant\n",
     .sep = "<|im_end|>",
     .sep2 = "",
     .default_system_message = kInternVL2System,
     .stop_token = "<|im_end|>"},
    {.name = "phi3-chat",
     .system_template = "<|system|>\n{system_message}",
     .user_role = "<|user|>\n",
     .assistant_role = "<|assistant|>\n",
     .sep = "<|end|>",
     .sep2 = "",
     .default_system_message = kInternVL2System,
     .stop_token = "<|end|>"},
    {.name = "internvl3_5_gpt_oss",
     .system_template = "<|start|>system<|message|>{system_message}",
     .user_role = "<|start|>user<|message|>",
     .assistant_role = "<|start|>assistant",
     .sep = "<|end|>",
     .sep2 = "<|return|>",
     .default_system_message =
         "You are InternVL, a large language model trained by Shanghai AI Laboratory.\n"
         "Knowledge cutoff: 2024-06\nCurrent date: 2025-08-06\n\nReasoning: low\n\n"
         "# Valid channels: final. Channel must be included for every message.",
     .stop_token = "<|return|>"},
}};

}  // namespace

const std::string_view kThinkingSystemPrompt =
    "You are an AI assistant that rigorously follows this response protocol:\n\n"
    "1. First, conduct a detailed analysis of the question. Consider different angles, potential "
    "solutions, and reason through the problem step-by-step. Enclose this entire thinking process "
    "within <think> and </think> tags.\n\n"
    "2. After the thinking section, provide a clear, concise, and direct answer to the user's "
    "question. Separate the answer from the think section with a newline.\n\n"
    "Ensure that the thinking process is thorough but remains focused on the query. The final "
    "answer should be standalone and not reference the thinking section.";

std::vector<std::string_view> chat_template_names() {
  std::vector<std::string_view> names;
  for (const auto& t : kTemplates) names.push_back(t.name);
  return names;
}

Result<const ChatTemplate*> find_chat_template(std::string_view name) {
  for (const auto& t : kTemplates) {
    if (t.name == name) return &t;
  }
  std::string known;
  for (const auto& t : kTemplates) known += (known.empty() ? "" : ", ") + std::string(t.name);
  return Status::unsupported("conversation template \"" + std::string(name) +
                             "\" is not supported (supported: " + known + ")");
}

}  // namespace ivl::prompt
