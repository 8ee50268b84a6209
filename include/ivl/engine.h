// internvl.cpp public API: load an InternVL checkpoint once, then answer requests.
//
//   auto engine = ivl::Engine::load({.model_dir = "/models/InternVL3-1B"});
//   if (!engine.ok()) { ... engine.status().message() ... }
//   auto session = (*engine)->new_session();
//   ivl::Request req;
//   req.prompt = "Describe this image.";
//   req.images.push_back({.path = "photo.jpg"});
//   auto response = session->generate(req, [](const ivl::GeneratedToken& t) {
//     std::fputs(t.text.c_str(), stdout);  // streamed, UTF-8 safe
//     return true;                         // false stops the generation
//   });
//
// Contracts:
//  - Engine is immutable after load() and may be shared by any number of threads; it owns the
//    weights (memory-mapped checkpoint files, never duplicated unless a WeightFormat other than
//    kStored asks for converted copies).
//  - Session holds one request's state (KV cache, sampler). One generate() at a time per
//    session; use one session per concurrent request. cancel() may be called from any thread.
//  - Every expected failure (bad input, unsupported model, context overflow, cancellation) is a
//    Status; nothing throws across this API.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ivl/status.h"

namespace ivl {

// How the matrices of a model part are held and multiplied. Names for the CLI and JSON:
// "auto", "stored", "f32", "bf16", "q8_0", "q4_0" (weight_format_name / weight_format_from_name).
// docs/performance.md has the speed and accuracy of each.
enum class WeightFormat {
  kAuto,    // the default. Float checkpoints: bf16 for the LLM, q8_0 for the vision tower +
            // projector (same greedy output on every fixture case, faster; docs/performance.md).
            // Quantized checkpoints: the file's own format.
  kStored,  // as in the checkpoint (BF16/F16/F32), widened exactly; float32 activations
  kF32,     // float32 copies of every matrix (reference precision, 2x memory for BF16)
  kBF16,    // bf16, packed for the SIMD kernels; activations rounded to bf16 inside matrix
            // products, float32 accumulation (the numerics of the official bf16 inference)
  kQ8_0,    // int8 with one fp16 scale per 32 weights (8.5 bits/weight)
  kQ4_0,    // 4-bit with one fp16 scale per 32 weights (4.5 bits/weight)
};
const char* weight_format_name(WeightFormat format);
// nullopt for an unknown name.
std::optional<WeightFormat> weight_format_from_name(std::string_view name);

struct EngineOptions {
  std::string model_dir;  // config.json + *.safetensors + tokenizer files
  // The LLM's matrices (the embedding table stays as stored: it is a lookup, not a product)
  // and those of the vision tower + projector.
  WeightFormat llm_weights = WeightFormat::kAuto;
  WeightFormat vision_weights = WeightFormat::kAuto;
  int threads = 0;             // 0: one per hardware thread
  int64_t context_length = 0;  // 0: the LLM's max_position_embeddings
  // Images: decoded pixel count limit (checked from the header before decoding).
  int64_t max_image_pixels = 64LL * 1024 * 1024;
};

// One image: exactly one of the three fields is set.
struct ImageInput {
  std::string path;
  std::string data_uri;  // "data:image/png;base64,..."
  std::vector<uint8_t> bytes;
};

struct SamplingOptions {
  int max_new_tokens = 512;
  float temperature = 0.f;         // 0: greedy
  int top_k = 0;                   // 0: off
  float top_p = 1.f;               // 1: off
  float min_p = 0.f;               // 0: off
  float repetition_penalty = 1.f;  // HF semantics, over prompt and generated tokens; 1: off
  float presence_penalty = 0.f;    // OpenAI semantics, over generated tokens; 0: off
  uint64_t seed = 0;
  bool ignore_eos = false;        // generate exactly max_new_tokens
  std::vector<std::string> stop;  // stop strings (not included in the text)
  int logprobs = 0;               // top-K log-probabilities per generated token (0: none)
};

struct Request {
  // Either an official chat()-style request: `prompt` (may hold <image> placeholders; one is
  // prepended when there are images, no placeholder and no history) + `history` + `images` ...
  std::string prompt;
  std::vector<std::pair<std::string, std::string>> history;  // (question, answer) turns
  std::vector<ImageInput> images;
  // ... or an OpenAI-style message list as JSON text (images come from its image parts).
  std::string messages_json;

  std::optional<std::string> system_message;  // unset: the template's default
  bool thinking = false;                      // use the InternVL3.5 thinking-mode system prompt
  int max_tiles = 0;                          // per image; 0: the model's max_dynamic_patch
  SamplingOptions sampling;
};

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0.f;
};

struct GeneratedToken {
  int32_t id = 0;
  std::string text;               // the new text this token completes (may be empty mid-character)
  float logprob = 0.f;            // log-softmax of the model's logits (temperature 1, no penalties)
  std::vector<TokenLogprob> top;  // when SamplingOptions::logprobs > 0
};

enum class FinishReason { kStop, kLength, kCancelled };
const char* finish_reason_name(FinishReason reason);  // "stop", "length", "cancelled"

struct Timings {
  double preprocess_ms = 0;  // image decoding + tiling + normalisation
  double vision_ms = 0;      // InternViT + projector
  double prefill_ms = 0;
  double decode_ms = 0;
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
};

struct Response {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> generated_ids;
  std::string text;  // decoded without special tokens, stop token/string removed, trimmed
  FinishReason finish_reason = FinishReason::kStop;
  std::vector<GeneratedToken> tokens;
  std::vector<int64_t> tiles_per_image;
  Timings timings;
};

// Return false to stop generating (the response then ends with kCancelled).
using TokenCallback = std::function<bool(const GeneratedToken&)>;

class Session;

struct ModelInfo {
  std::string model_dir;
  std::string layout;
  std::string llm_backbone;
  std::string template_name;
  int64_t context_length = 0;
  int64_t max_tiles = 0;
  int64_t tokens_per_tile = 0;
  size_t weight_bytes = 0;         // checkpoint tensor bytes (mapped)
  size_t converted_bytes = 0;      // converted copies made at load (every format but kStored)
  size_t decode_weight_bytes = 0;  // weight bytes one generated token reads (LLM layers + head)
  std::string llm_weights;         // the formats in use (weight_format_name; never "auto")
  std::string vision_weights;
};

class Engine {
 public:
  static Result<std::shared_ptr<const Engine>> load(const EngineOptions& options);
  virtual ~Engine() = default;
  virtual std::unique_ptr<Session> new_session() const = 0;
  virtual const ModelInfo& info() const = 0;
};

class Session {
 public:
  virtual ~Session() = default;
  // Builds the prompt, encodes the images, prefills and generates. Errors (before any model
  // work): bad messages, placeholder/image count mismatch, undecodable image, prompt +
  // max_new_tokens beyond the context length.
  virtual Result<Response> generate(const Request& request, const TokenCallback& on_token = {}) = 0;
  // Makes a running generate() stop after the current token (FinishReason::kCancelled).
  virtual void cancel() = 0;
};

}  // namespace ivl
