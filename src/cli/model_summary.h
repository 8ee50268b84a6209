// A structured summary of an opened checkpoint, for `internvl inspect` (text or --json).
#pragma once

#include <nlohmann/json.hpp>

#include "model/model_description.h"
#include "model/special_tokens.h"
#include "prompt/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace ivl::cli {

nlohmann::ordered_json summarize_model(const model::ModelDescription& model,
                                       const tok::Tokenizer& tokenizer,
                                       const prompt::ChatTemplate& tmpl,
                                       const model::SpecialTokens& tokens);

// The same summary as aligned "key  value" lines for people.
std::string format_summary(const nlohmann::ordered_json& summary);

}  // namespace ivl::cli
