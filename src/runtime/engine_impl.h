// The Engine behind include/ivl/engine.h: everything loaded once and shared by sessions.
#pragma once

#include <memory>
#include <set>

#include "core/thread_pool.h"
#include "ivl/engine.h"
#include "model/llm/decoder.h"
#include "model/model_description.h"
#include "model/runtime_weights.h"
#include "model/special_tokens.h"
#include "prompt/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace ivl::runtime {

class EngineImpl final : public Engine, public std::enable_shared_from_this<EngineImpl> {
 public:
  static Result<std::shared_ptr<const EngineImpl>> create(const EngineOptions& options);

  std::unique_ptr<Session> new_session() const override;
  const ModelInfo& info() const override { return info_; }

  const EngineOptions& options() const { return options_; }
  const model::ModelDescription& model() const { return *model_; }
  const model::RuntimeWeights& weights() const { return *weights_; }
  const model::Decoder& decoder() const { return *decoder_; }
  const tok::Tokenizer& tokenizer() const { return *tokenizer_; }
  const prompt::ChatTemplate& chat_template() const { return *template_; }
  const model::SpecialTokens& special() const { return special_; }
  const std::set<int32_t>& stop_ids() const { return stop_ids_; }
  ThreadPool* pool() const { return pool_.get(); }

 private:
  EngineOptions options_;
  std::unique_ptr<model::ModelDescription> model_;
  std::unique_ptr<model::RuntimeWeights> weights_;
  std::optional<model::Decoder> decoder_;
  std::unique_ptr<tok::Tokenizer> tokenizer_;
  const prompt::ChatTemplate* template_ = nullptr;
  model::SpecialTokens special_;
  std::set<int32_t> stop_ids_;  // template stop token + the model's eos ids
  std::unique_ptr<ThreadPool> pool_;
  ModelInfo info_;
};

}  // namespace ivl::runtime
