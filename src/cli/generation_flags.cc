#include "cli/generation_flags.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>

namespace ivl::cli {

SamplingOptions SamplingFlags::to_options() const {
  SamplingOptions s;
  s.max_new_tokens = max_new_tokens;
  s.temperature = temperature;
  s.top_p = top_p;
  s.top_k = top_k;
  s.min_p = min_p;
  s.repetition_penalty = repetition_penalty;
  s.presence_penalty = presence_penalty;
  s.seed = seed;
  s.ignore_eos = ignore_eos;
  s.stop = stop;
  s.logprobs = logprobs;
  return s;
}

CLI::Validator probability_mass() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        double x = 0;
        if (CLI::detail::lexical_cast(value, x) && x > 0 && x <= 1) return {};
        return "Value " + value + " not in (0, 1]";
      },
      "(0, 1]");
}

void add_engine_flags(CLI::App* app, EngineFlags* f) {
  app->add_option("-m,--model", f->model_dir, "Checkpoint directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  const auto formats = CLI::IsMember({"auto", "stored", "f32", "bf16", "q8_0", "q4_0"});
  app->add_option("--quant", f->llm_weights,
                  "LLM weights. auto (default): bf16, or a quantized checkpoint's own format. "
                  "bf16: bf16 math as in the official bf16 inference (greedy output equal to "
                  "float32 on every fixture case), the values kept losslessly in 12 bits/weight. "
                  "q8_0: 8.5 bits/weight, ~1.4x bf16's decode speed, top-1 equal to float32 "
                  "on the fixtures but greedy continuations can flip where two tokens are "
                  "nearly tied. q4_0: 4.5 bits/weight, fastest, "
                  "least accurate. stored: as in the checkpoint with exact float32 math "
                  "(slow). f32: float32 copies (the reference). Numbers: docs/performance.md")
      ->check(formats);
  app->add_option("--vision-quant", f->vision_weights,
                  "Vision tower + projector weights, same names. auto (default): q8_0 (greedy "
                  "output equal to bf16's on every fixture case, ~1.2x faster per tile), or a "
                  "quantized checkpoint's own format; bf16 for the official bf16 numerics")
      ->check(formats);
  app->add_option("-t,--threads", f->threads, "Threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  app->add_option("--context", f->context,
                  "Context length (default: the LLM's max_position_embeddings)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
}

void add_sampling_flags(CLI::App* app, SamplingFlags* f) {
  app->add_option("-n,--max-new-tokens", f->max_new_tokens,
                  "Maximum tokens to generate (default 512)")
      ->check(CLI::Range(0, 1 << 20));
  app->add_option("--temperature", f->temperature, "0 = greedy (default)")
      ->check(CLI::Range(0.0, 100.0));
  app->add_option("--top-p", f->top_p, "Nucleus sampling mass (default 1 = off)")
      ->check(probability_mass());
  app->add_option("--top-k", f->top_k, "Keep the K most likely tokens (default 0 = off)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--min-p", f->min_p,
                  "Drop tokens below min-p x the top probability (default 0 = off)")
      ->check(CLI::Range(0.0, 1.0));
  app->add_option("--repetition-penalty", f->repetition_penalty,
                  "HF repetition penalty (default 1 = off)")
      ->check(CLI::PositiveNumber);
  app->add_option("--presence-penalty", f->presence_penalty, "OpenAI presence penalty (default 0)");
  app->add_option("--seed", f->seed, "Random seed for sampling (default 0)");
  app->add_flag("--ignore-eos", f->ignore_eos,
                "Do not stop at the end-of-turn token: generate exactly -n tokens");
  app->add_option("--stop", f->stop, "Stop string (repeatable); not included in the output");
  app->add_option("--logprobs", f->logprobs,
                  "With --json: top-K log-probabilities per generated token")
      ->check(CLI::Range(0, 20));
}

Result<std::shared_ptr<const Engine>> load_engine(const EngineFlags& f) {
  EngineOptions o;
  o.model_dir = f.model_dir;
  o.llm_weights = *weight_format_from_name(f.llm_weights);  // validated by the flag
  o.vision_weights = *weight_format_from_name(f.vision_weights);
  o.threads = f.threads;
  o.context_length = f.context;
  std::fprintf(stderr, "loading %s ...", f.model_dir.c_str());
  std::fflush(stderr);
  auto t0 = std::chrono::steady_clock::now();
  auto engine = Engine::load(o);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, engine.ok() ? " done in %.2f s\n" : " failed after %.2f s\n", s);
  return engine;
}

void print_stats(const Engine& engine, const Response& r) {
  const Timings& t = r.timings;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  auto rate = [](int64_t n, double ms) {
    return ms > 0 ? 1000.0 * static_cast<double>(n) / ms : 0.0;
  };
  std::fprintf(stderr,
               "preprocess %.1f ms | vision %.1f ms (%zu image(s)) | prefill %lld tokens %.1f ms "
               "(%.1f tok/s) | decode %lld tokens %.1f ms (%.1f tok/s)\n",
               t.preprocess_ms, t.vision_ms, r.tiles_per_image.size(),
               static_cast<long long>(t.prompt_tokens), t.prefill_ms,
               rate(t.prompt_tokens, t.prefill_ms), static_cast<long long>(t.generated_tokens),
               t.decode_ms, rate(t.generated_tokens, t.decode_ms));
  std::fprintf(stderr,
               "peak RSS %.1f MiB | weights: llm %s, vision %s; %.1f MiB mapped + %.1f MiB "
               "converted\n",
               static_cast<double>(ru.ru_maxrss) / 1024.0, engine.info().llm_weights.c_str(),
               engine.info().vision_weights.c_str(),
               static_cast<double>(engine.info().weight_bytes) / (1024.0 * 1024.0),
               static_cast<double>(engine.info().converted_bytes) / (1024.0 * 1024.0));
}

}  // namespace ivl::cli
