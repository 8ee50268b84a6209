// The requests `internvl bench` times, built once and run through the public API
// (Session::generate), and what one run of them measures.
#pragma once

#include <cstdint>
#include <vector>

#include "ivl/engine.h"

namespace ivl::cli {

struct BenchSizes {
  int tiles = 4;            // 448x448 images of the vision request (one tile each)
  int prompt_tokens = 512;  // words of the prefill request's text (one token each)
  int gen_tokens = 128;     // tokens the decode request generates (>= 2)
  // Words (one token each) before the decode request's instruction: decode then runs after
  // about this many tokens of context. 0: a short prompt (the template and one sentence).
  int decode_context = 0;
};

// One run of the four requests. Times are as the engine reports them (Response::timings),
// except ttft_ms, the wall time from calling generate() to the first token's callback.
struct BenchSample {
  double vision_ms_per_tile = 0;  // vision_ms / tiles (InternViT + projector)
  int64_t prefill_tokens = 0;     // the prefill request's prompt, template included
  double prefill_ms = 0;
  int64_t decode_prompt_tokens = 0;  // the decode request's prompt: the context decode starts at
  int64_t decode_steps = 0;  // gen_tokens - 1: the first token comes from the prefill logits
  double decode_ms = 0;      // those steps plus the sampling of every token
  int64_t ttft_prompt_tokens = 0;
  double ttft_ms = 0;  // 1 image + a short question: preprocess, vision, prefill, first sample
};

// How the decode request picks its tokens (default: greedy). Sampling adds the sampler's work
// per token to decode's time, as a sampled chat or API request has it.
struct DecodeSampling {
  float temperature = 0.f;
  float top_p = 1.f;
  int top_k = 0;
};

class BenchWorkload {
 public:
  static Result<BenchWorkload> make(const BenchSizes& sizes, const DecodeSampling& sampling = {});
  Result<BenchSample> run(Session& session) const;

 private:
  BenchSizes sizes_;
  Request vision_, prefill_, decode_, ttft_;
};

}  // namespace ivl::cli
