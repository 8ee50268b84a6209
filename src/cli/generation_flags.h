// Flags shared by the commands that generate (run, chat): engine loading and sampling.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "ivl/engine.h"

namespace ivl::cli {

struct EngineFlags {
  std::string model_dir;
  std::string llm_weights = "auto";     // --quant: a weight_format_name()
  std::string vision_weights = "auto";  // --vision-quant
  int threads = 0;
  int64_t context = 0;
};

struct SamplingFlags {
  int max_new_tokens = 512;
  float temperature = 0.f;
  float top_p = 1.f;
  int top_k = 0;
  float min_p = 0.f;
  float repetition_penalty = 1.f;
  float presence_penalty = 0.f;
  uint64_t seed = 0;
  bool ignore_eos = false;
  std::vector<std::string> stop;
  int logprobs = 0;

  SamplingOptions to_options() const;
};

// Accepts a number in (0, 1]: a top-p mass (the engine rejects 0, so the flag does too, before
// the model loads).
CLI::Validator probability_mass();

void add_engine_flags(CLI::App* app, EngineFlags* flags);
void add_sampling_flags(CLI::App* app, SamplingFlags* flags);

// Loads the engine, printing progress to stderr ("loading ... done in 0.4 s").
Result<std::shared_ptr<const Engine>> load_engine(const EngineFlags& flags);

// Timings (ms, tokens/s) and peak resident memory, to stderr.
void print_stats(const Engine& engine, const Response& response);

}  // namespace ivl::cli
