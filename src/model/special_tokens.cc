#include "model/special_tokens.h"

#include "prompt/conversation.h"

namespace ivl::model {

Result<SpecialTokens> resolve_special_tokens(const tok::Tokenizer& tokenizer,
                                             const io::ModelConfig& config, const LlmSpec& llm,
                                             const prompt::ChatTemplate& tmpl) {
  auto lookup = [&](std::string_view token, int32_t* out) -> Status {
    auto id = tokenizer.token_to_id(token);
    if (!id) {
      return Status::invalid_argument("the tokenizer has no \"" + std::string(token) +
                                      "\" token: it does not belong to an InternVL checkpoint");
    }
    if (*id >= llm.vocab_size) {
      return Status::invalid_argument("token \"" + std::string(token) + "\" has id " +
                                      std::to_string(*id) + ", outside the LLM's vocabulary of " +
                                      std::to_string(llm.vocab_size));
    }
    *out = *id;
    return Status();
  };
  SpecialTokens t;
  IVL_RETURN_IF_ERROR(lookup(prompt::kImageStart, &t.image_start));
  IVL_RETURN_IF_ERROR(lookup(prompt::kImageEnd, &t.image_end));
  IVL_RETURN_IF_ERROR(lookup(prompt::kImageContext, &t.image_context));
  IVL_RETURN_IF_ERROR(lookup(tmpl.stop_token, &t.stop));
  if (config.image_token_id && *config.image_token_id != t.image_context) {
    return Status::invalid_argument(
        "config.json image_token_id is " + std::to_string(*config.image_token_id) +
        " but the tokenizer's <IMG_CONTEXT> is " + std::to_string(t.image_context) +
        ": the tokenizer files do not match the weights");
  }
  if (tokenizer.vocab_size() > llm.vocab_size) {
    return Status::invalid_argument("the tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                                    " tokens but the LLM embeds only " +
                                    std::to_string(llm.vocab_size));
  }
  return t;
}

}  // namespace ivl::model
