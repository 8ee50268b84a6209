#include "cli/bench_workload.h"

#include <chrono>
#include <optional>
#include <string>

#include "vision/png_writer.h"

namespace ivl::cli {
namespace {

using Clock = std::chrono::steady_clock;

// A 448x448 PNG: gradients plus hash noise, different per index, so no two tiles are equal and
// the PNG does not compress to nothing. The pixels do not change the amount of work.
Result<std::vector<uint8_t>> synthetic_png(int index) {
  vision::RgbImage img(448, 448);
  uint32_t h = 0x9e3779b9u * static_cast<uint32_t>(index + 1);
  for (int y = 0; y < img.height(); ++y) {
    uint8_t* row = img.row(y);
    for (int x = 0; x < img.width(); ++x) {
      h ^= h << 13, h ^= h >> 17, h ^= h << 5;  // xorshift32
      row[3 * x] = static_cast<uint8_t>(x / 2 + (h & 31));
      row[3 * x + 1] = static_cast<uint8_t>(y / 2 + ((h >> 8) & 31));
      row[3 * x + 2] = static_cast<uint8_t>(index * 40 + (x + y) / 4 + ((h >> 16) & 31));
    }
  }
  IVL_ASSIGN_OR_RETURN(std::vector<std::byte> png, vision::encode_png(img));
  std::vector<uint8_t> bytes(png.size());
  for (size_t i = 0; i < png.size(); ++i) bytes[i] = static_cast<uint8_t>(png[i]);
  return bytes;
}

Request greedy(std::string prompt, int max_new_tokens) {
  Request r;
  r.prompt = std::move(prompt);
  r.sampling.max_new_tokens = max_new_tokens;
  r.sampling.temperature = 0.f;
  r.sampling.ignore_eos = true;  // the decode request must produce exactly max_new_tokens
  r.max_tiles = 1;               // a 448x448 image is then exactly one tile, no thumbnail
  return r;
}

}  // namespace

Result<BenchWorkload> BenchWorkload::make(const BenchSizes& sizes, const DecodeSampling& sampling) {
  if (sizes.tiles < 1 || sizes.prompt_tokens < 1 || sizes.gen_tokens < 2 ||
      sizes.decode_context < 0) {
    return Status::invalid_argument(
        "bench needs tiles >= 1, prompt tokens >= 1, gen tokens >= 2, decode context >= 0");
  }
  BenchWorkload w;
  w.sizes_ = sizes;
  std::string text;
  for (int i = 0; i < sizes.tiles; ++i) text += "Image-" + std::to_string(i + 1) + ": <image>\n";
  w.vision_ = greedy(text + "Describe the images.", 1);
  for (int i = 0; i < sizes.tiles; ++i) {
    IVL_ASSIGN_OR_RETURN(std::vector<uint8_t> png, synthetic_png(i));
    w.vision_.images.push_back({.path = "", .data_uri = "", .bytes = std::move(png)});
  }
  // " the" is one token in the byte-level BPE vocabularies InternVL uses; the exact count,
  // template included, is read back from Response::prompt_ids.
  auto the_words = [](int n) {
    std::string words;
    for (int i = 0; i < n; ++i) words += i == 0 ? "the" : " the";
    return words;
  };
  w.prefill_ = greedy(the_words(sizes.prompt_tokens), 1);
  std::string instruction = "Count from one to one thousand, one number per line.";
  if (sizes.decode_context > 0) instruction = the_words(sizes.decode_context) + "\n" + instruction;
  w.decode_ = greedy(instruction, sizes.gen_tokens);
  w.decode_.sampling.temperature = sampling.temperature;
  w.decode_.sampling.top_p = sampling.top_p;
  w.decode_.sampling.top_k = sampling.top_k;
  w.decode_.sampling.seed = 1;  // the same tokens in every run
  w.ttft_ = greedy(
      "Describe this picture in detail: the colours, the shapes, the textures and any text in it.",
      1);
  w.ttft_.images.push_back(w.vision_.images.front());
  return w;
}

Result<BenchSample> BenchWorkload::run(Session& session) const {
  BenchSample s;
  IVL_ASSIGN_OR_RETURN(Response vision, session.generate(vision_));
  for (int64_t tiles : vision.tiles_per_image) {
    if (tiles != 1)
      return Status::internal("a 448x448 bench image gave " + std::to_string(tiles) +
                              " tiles instead of 1");
  }
  s.vision_ms_per_tile = vision.timings.vision_ms / sizes_.tiles;

  IVL_ASSIGN_OR_RETURN(Response prefill, session.generate(prefill_));
  s.prefill_tokens = static_cast<int64_t>(prefill.prompt_ids.size());
  s.prefill_ms = prefill.timings.prefill_ms;

  IVL_ASSIGN_OR_RETURN(Response decode, session.generate(decode_));
  if (decode.timings.generated_tokens != sizes_.gen_tokens) {
    return Status::internal("the decode request generated " +
                            std::to_string(decode.timings.generated_tokens) + " tokens, not " +
                            std::to_string(sizes_.gen_tokens));
  }
  s.decode_prompt_tokens = static_cast<int64_t>(decode.prompt_ids.size());
  s.decode_steps = decode.timings.generated_tokens - 1;
  s.decode_ms = decode.timings.decode_ms;

  std::optional<Clock::time_point> first;
  const auto start = Clock::now();
  IVL_ASSIGN_OR_RETURN(Response ttft, session.generate(ttft_, [&first](const GeneratedToken&) {
    if (!first) first = Clock::now();
    return true;
  }));
  if (!first) return Status::internal("the time-to-first-token request produced no token");
  s.ttft_ms = std::chrono::duration<double, std::milli>(*first - start).count();
  s.ttft_prompt_tokens = static_cast<int64_t>(ttft.prompt_ids.size());
  return s;
}

}  // namespace ivl::cli
