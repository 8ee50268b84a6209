#include "runtime/session_impl.h"

#include <algorithm>
#include <chrono>

#include "core/thread_scratch.h"
#include "model/llm/kv_cache.h"
#include "model/vision/internvit.h"
#include "prompt/conversation.h"
#include "runtime/engine_impl.h"
#include "runtime/image_pipeline.h"
#include "runtime/prompt_builder.h"
#include "runtime/sampler.h"
#include "runtime/stop_text.h"

namespace ivl::runtime {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

Status check_sampling(const SamplingOptions& s) {
  if (s.max_new_tokens < 0) return Status::invalid_argument("max_new_tokens must be >= 0");
  if (!(s.temperature >= 0)) return Status::invalid_argument("temperature must be >= 0");
  if (!(s.top_p > 0 && s.top_p <= 1)) return Status::invalid_argument("top_p must be in (0, 1]");
  if (!(s.min_p >= 0 && s.min_p <= 1)) return Status::invalid_argument("min_p must be in [0, 1]");
  if (s.top_k < 0) return Status::invalid_argument("top_k must be >= 0");
  if (!(s.repetition_penalty > 0))
    return Status::invalid_argument("repetition_penalty must be > 0");
  if (s.logprobs < 0 || s.logprobs > 20)
    return Status::invalid_argument("logprobs must be in [0, 20]");
  return Status();
}

// Frees the kernels' scratch buffers on every thread of the pool when it goes out of scope.
class ScratchGuard {
 public:
  explicit ScratchGuard(ThreadPool* pool) : pool_(pool) {}
  ~ScratchGuard() { release_scratch(pool_); }
  ScratchGuard(const ScratchGuard&) = delete;
  ScratchGuard& operator=(const ScratchGuard&) = delete;

 private:
  ThreadPool* pool_;
};

}  // namespace

Result<Response> SessionImpl::generate(const Request& request, const TokenCallback& on_token) {
  cancelled_.store(false);
  const EngineImpl& e = *engine_;
  const io::ModelConfig& config = e.model().config;
  const int64_t tokens_per_tile = config.num_image_tokens();
  IVL_RETURN_IF_ERROR(check_sampling(request.sampling));
  Response r;

  // 1. Conversation and images: every check that needs no model work comes first.
  IVL_ASSIGN_OR_RETURN(PromptPlan plan, plan_prompt(request, config, e.chat_template()));
  auto t0 = Clock::now();
  std::vector<float> pixels;
  for (size_t i = 0; i < plan.images.size(); ++i) {
    auto img =
        prepare_image(plan.images[i], config, request.max_tiles, e.options().max_image_pixels);
    if (!img.ok()) return img.status().with_context("image " + std::to_string(i + 1));
    r.tiles_per_image.push_back(img->tiles);
    pixels.insert(pixels.end(), img->pixels.begin(), img->pixels.end());
  }
  r.timings.preprocess_ms = ms_since(t0);
  IVL_ASSIGN_OR_RETURN(std::string text, prompt::expand_image_placeholders(
                                             plan.rendered, r.tiles_per_image, tokens_per_tile));
  r.prompt_ids = e.tokenizer().encode(text);
  const auto n = static_cast<int64_t>(r.prompt_ids.size());
  const int64_t max_new = request.sampling.max_new_tokens;
  if (n + max_new > e.info().context_length) {
    return Status::out_of_range(
        "the prompt has " + std::to_string(n) + " tokens and up to " + std::to_string(max_new) +
        " may be generated, beyond the context of " + std::to_string(e.info().context_length) +
        " tokens: shorten the prompt, use fewer tiles (max_tiles) or fewer new tokens");
  }
  if (n == 0) return Status::invalid_argument("the prompt is empty");
  // Every <IMG_CONTEXT> must receive exactly one visual row (spec §7): a prompt that spells the
  // token itself would otherwise feed a text embedding where an image row belongs.
  int64_t tiles = 0;
  for (int64_t t : r.tiles_per_image) tiles += t;
  int64_t context_tokens = 0;
  for (int32_t id : r.prompt_ids) context_tokens += id == e.special().image_context;
  if (context_tokens != tiles * tokens_per_tile) {
    return Status::invalid_argument("the prompt holds " + std::to_string(context_tokens) +
                                    " <IMG_CONTEXT> tokens for " +
                                    std::to_string(tiles * tokens_per_tile) +
                                    " image feature rows (do not type <IMG_CONTEXT> in prompts)");
  }

  // From here on the request uses the kernels' per-thread scratch buffers; they are freed when
  // it ends, however it ends, and once between the vision tower and the LLM, whose largest
  // buffers are never needed at the same time (peak memory: docs/performance.md).
  const ScratchGuard scratch_guard(e.pool());

  // 2. Vision: all tiles of all images as one batch.
  const model::Decoder& dec = e.decoder();
  const int64_t h = dec.spec().hidden_size;
  std::vector<float> x(static_cast<size_t>(n * h));
  dec.embed(r.prompt_ids, x.data());
  if (tiles > 0) {
    t0 = Clock::now();
    std::vector<float> features =
        model::image_features(config, e.weights(), pixels.data(), tiles, e.pool(), nullptr);
    release_scratch(e.pool());
    r.timings.vision_ms = ms_since(t0);
    int64_t row = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (r.prompt_ids[static_cast<size_t>(i)] != e.special().image_context) continue;
      std::copy(features.begin() + row * h, features.begin() + (row + 1) * h, x.begin() + i * h);
      ++row;
    }
  }
  // 3. Prefill.
  model::KvCache cache = dec.make_cache(n + max_new);
  std::vector<float> logits(static_cast<size_t>(dec.spec().vocab_size));
  t0 = Clock::now();
  dec.forward(x.data(), n, cache, logits.data(), e.pool(), nullptr);
  r.timings.prefill_ms = ms_since(t0);
  r.timings.prompt_tokens = n;

  // 4. Decode.
  t0 = Clock::now();
  Sampler sampler(request.sampling);
  tok::StreamDecoder stream(e.tokenizer(), /*skip_special_tokens=*/true);
  StopText stop_text(request.sampling.stop);
  std::vector<int32_t> history = r.prompt_ids;
  // Grown up front so the decode loop does not reallocate (bounded: max_new may be huge).
  const auto expected = static_cast<size_t>(std::min<int64_t>(max_new, 8192));
  history.reserve(history.size() + expected);
  r.generated_ids.reserve(expected);
  r.tokens.reserve(expected);
  r.finish_reason = FinishReason::kLength;
  std::vector<float> raw;  // with logprobs: a copy of each step's logits, one buffer for all
  for (int64_t step = 0; step < max_new; ++step) {
    if (cancelled_.load()) {
      r.finish_reason = FinishReason::kCancelled;
      break;
    }
    if (!all_finite(logits)) {
      return Status::corrupt(
          "the model computed non-finite logits (NaN or infinity) for generated token " +
          std::to_string(step + 1) +
          "; its weights likely hold NaN or infinite values (a damaged checkpoint: copy or "
          "download it again)");
    }
    GeneratedToken tok;
    if (request.sampling.logprobs > 0) tok.top = top_logprobs(logits, request.sampling.logprobs);
    // The model's own logits, before the sampler's penalties and temperature change them.
    if (request.sampling.logprobs > 0) raw.assign(logits.begin(), logits.end());
    const std::span<const float> model_logits =
        raw.empty() ? std::span<const float>() : std::span<const float>(raw);
    const int32_t next = sampler.sample(logits, history, r.generated_ids);
    tok.id = next;
    tok.logprob = model_logits.empty() ? 0.f : log_softmax_at(model_logits, next);
    r.generated_ids.push_back(next);
    history.push_back(next);
    const bool is_stop = !request.sampling.ignore_eos && e.stop_ids().count(next) > 0;
    if (!is_stop) tok.text = stop_text.push(stream.push(next));
    const bool stopped = is_stop || stop_text.stopped();
    if (stopped || step + 1 == max_new) tok.text += stop_text.flush();
    r.tokens.push_back(tok);
    if (on_token && !on_token(tok)) {
      r.finish_reason = FinishReason::kCancelled;
      break;
    }
    if (stopped) {
      r.finish_reason = FinishReason::kStop;
      break;
    }
    if (step + 1 == max_new) break;
    dec.embed(std::span<const int32_t>(&next, 1), x.data());
    dec.forward(x.data(), 1, cache, logits.data(), e.pool(), nullptr);
  }
  r.timings.decode_ms = ms_since(t0);
  r.timings.generated_tokens = static_cast<int64_t>(r.generated_ids.size());
  r.text = trim(stop_text.text());
  return r;
}

}  // namespace ivl::runtime
