// The token ids a prompt needs, resolved through the checkpoint's own tokenizer (spec §6.1) and
// cross-checked with config.json, so a tokenizer that does not belong to the weights is caught at
// load time instead of producing garbage.
#pragma once

#include <cstdint>

#include "io/model_config.h"
#include "ivl/status.h"
#include "model/llm/llm_spec.h"
#include "prompt/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace ivl::model {

struct SpecialTokens {
  int32_t image_start = -1;    // <img>
  int32_t image_end = -1;      // </img>
  int32_t image_context = -1;  // <IMG_CONTEXT>
  int32_t stop = -1;           // the template's stop token (<|im_end|>, <|end|>, <|return|>)
};

// kInvalidArgument when a token is missing from the tokenizer, when the native layout's
// image_token_id disagrees with the tokenizer's <IMG_CONTEXT>, or when the tokenizer produces ids
// the LLM's embedding does not have.
Result<SpecialTokens> resolve_special_tokens(const tok::Tokenizer& tokenizer,
                                             const io::ModelConfig& config, const LlmSpec& llm,
                                             const prompt::ChatTemplate& tmpl);

}  // namespace ivl::model
