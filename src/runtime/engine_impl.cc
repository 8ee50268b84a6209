#include "runtime/engine_impl.h"

#include "runtime/session_impl.h"

namespace ivl {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
  }
  return "?";
}

Result<std::shared_ptr<const Engine>> Engine::load(const EngineOptions& options) {
  IVL_ASSIGN_OR_RETURN(auto engine, runtime::EngineImpl::create(options));
  return std::shared_ptr<const Engine>(std::move(engine));
}

namespace runtime {

Result<std::shared_ptr<const EngineImpl>> EngineImpl::create(const EngineOptions& options) {
  auto e = std::make_shared<EngineImpl>();
  e->options_ = options;
  IVL_ASSIGN_OR_RETURN(model::ModelDescription desc,
                       model::open_model_description(options.model_dir));
  e->model_ = std::make_unique<model::ModelDescription>(std::move(desc));
  IVL_ASSIGN_OR_RETURN(e->tokenizer_, tok::load_tokenizer(options.model_dir));
  IVL_ASSIGN_OR_RETURN(e->template_, prompt::find_chat_template(e->model_->config.template_name));
  auto special = model::resolve_special_tokens(*e->tokenizer_, e->model_->config, e->model_->llm,
                                               *e->template_);
  if (!special.ok()) return special.status().with_context(options.model_dir);
  e->special_ = *special;
  e->pool_ = std::make_unique<ThreadPool>(options.threads);
  IVL_ASSIGN_OR_RETURN(
      e->weights_, model::build_runtime_weights(
                       *e->model_, {.llm = options.llm_weights, .vision = options.vision_weights},
                       e->pool_.get()));
  IVL_ASSIGN_OR_RETURN(model::Decoder decoder,
                       model::Decoder::create(e->model_->llm, e->weights_->llm));
  e->decoder_.emplace(std::move(decoder));

  // Stop on the template's separator (what the official chat() passes as eos) and on the
  // model's own eos ids from its LLM config and generation_config.json.
  e->stop_ids_.insert(e->special_.stop);
  for (int64_t id : e->model_->llm.eos_token_ids) e->stop_ids_.insert(static_cast<int32_t>(id));
  if (e->model_->config.generation) {
    for (int64_t id : e->model_->config.generation->eos_token_ids)
      e->stop_ids_.insert(static_cast<int32_t>(id));
  }

  ModelInfo& i = e->info_;
  const io::ModelConfig& c = e->model_->config;
  i.model_dir = options.model_dir;
  i.layout = std::string(io::layout_name(c.layout));
  i.llm_backbone = e->model_->llm.backbone;
  i.template_name = std::string(e->template_->name);
  i.context_length = options.context_length > 0 ? options.context_length
                                                : (e->model_->llm.max_position_embeddings > 0
                                                       ? e->model_->llm.max_position_embeddings
                                                       : 32768);
  i.max_tiles = c.image.max_dynamic_patch;
  i.tokens_per_tile = c.num_image_tokens();
  i.weight_bytes = e->model_->checkpoint->total_bytes();
  i.converted_bytes = e->weights_->owned_bytes;
  i.decode_weight_bytes = model::decode_weight_bytes(e->weights_->llm);
  i.llm_weights = weight_format_name(e->weights_->formats.llm);
  i.vision_weights = weight_format_name(e->weights_->formats.vision);
  return std::shared_ptr<const EngineImpl>(std::move(e));
}

std::unique_ptr<Session> EngineImpl::new_session() const {
  return std::make_unique<SessionImpl>(shared_from_this());
}

}  // namespace runtime
}  // namespace ivl
