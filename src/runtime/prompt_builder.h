// Request -> conversation -> prompt text, and the images it refers to (spec §6).
#pragma once

#include <string>
#include <vector>

#include "io/model_config.h"
#include "ivl/engine.h"
#include "ivl/status.h"
#include "prompt/chat_template.h"
#include "prompt/conversation.h"

namespace ivl::runtime {

struct PromptPlan {
  std::string rendered;            // the conversation in the template, placeholders unexpanded
  std::vector<ImageInput> images;  // in placeholder order; as many as placeholders
};

// chat()-style (prompt/history/images) or OpenAI-style (messages_json), never both. The system
// message is the request's, else the thinking prompt when asked, else config.json's, else the
// template's default. Fails (before any image is read) when placeholders and images differ.
Result<PromptPlan> plan_prompt(const Request& request, const io::ModelConfig& config,
                               const prompt::ChatTemplate& tmpl);

}  // namespace ivl::runtime
