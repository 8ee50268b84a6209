// Tokenizer throughput and load time on the fixture tokenizers (Qwen3 byte-level BPE).
//
// The input is the tokenizer corpus (../shared/fixtures/tokenizer/*.json, or
// $INTERNVL_FIXTURES/tokenizer) concatenated and repeated to ~1 MB: real text (licences,
// manuals, source code) mixed with synthetic Unicode, as one string.
//   ./tokenizer_bench --benchmark_filter=Encode
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using ivl::tok::Tokenizer;

fs::path fixtures_dir() {
  const char* env = std::getenv("INTERNVL_FIXTURES");
  fs::path dir = (env != nullptr && *env != '\0') ? fs::path(env) : fs::path(IVL_FIXTURES_DIR);
  if (!fs::is_directory(dir / "models")) {
    throw std::runtime_error("fixtures not found at " + dir.string() + " (set INTERNVL_FIXTURES)");
  }
  return dir;
}

fs::path model_dir(const char* name) {
  return fixtures_dir() / "models" / name;
}

std::unique_ptr<Tokenizer> load(const fs::path& dir) {
  auto t = ivl::tok::load_tokenizer(dir);
  if (!t.ok()) throw std::runtime_error(t.status().to_string());
  return std::move(t).value();
}

const std::string& corpus_text() {
  static const std::string text = [] {
    std::ifstream in(fixtures_dir() / "tokenizer" / "tokenizer_tiny-internvl35-qwen3-v.json");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string once;
    for (const auto& row : nlohmann::json::parse(ss.str())) {
      once += row.at("text").get<std::string>();
      once += "\n";
    }
    std::string out;
    while (out.size() < (1u << 20)) out += once;
    return out;
  }();
  return text;
}

const Tokenizer& shared_tokenizer() {
  static const std::unique_ptr<Tokenizer> t = load(model_dir("tiny-internvl35-qwen3-v"));
  return *t;
}

void BM_LoadTokenizerJson(benchmark::State& state) {
  const fs::path dir = model_dir("tiny-internvl35-qwen3-v");
  for (auto _ : state) benchmark::DoNotOptimize(load(dir));
}
BENCHMARK(BM_LoadTokenizerJson)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_LoadVocabMerges(benchmark::State& state) {
  const fs::path dir = model_dir("tiny-internvl3-qwen2");
  for (auto _ : state) benchmark::DoNotOptimize(load(dir));
}
BENCHMARK(BM_LoadVocabMerges)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void report(benchmark::State& state, size_t bytes, size_t tokens) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * tokens),
                                                  benchmark::Counter::kIsRate);
  state.counters["tokens"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kAvgThreads);
}

// Warm: the BPE word cache already holds the corpus's words (the steady state of a server).
// Threads(2): two threads encoding concurrently with one tokenizer; the byte and token rates
// are then the total over both threads.
void BM_EncodeWarm(benchmark::State& state) {
  const Tokenizer& tok = shared_tokenizer();
  const std::string& text = corpus_text();
  size_t tokens = tok.encode(text).size();
  for (auto _ : state) {
    auto ids = tok.encode(text);
    benchmark::DoNotOptimize(ids.data());
  }
  report(state, text.size(), tokens);
}
BENCHMARK(BM_EncodeWarm)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();

// Cold: a freshly loaded tokenizer each iteration, so every distinct word runs the merge loop.
void BM_EncodeCold(benchmark::State& state) {
  const fs::path dir = model_dir("tiny-internvl35-qwen3-v");
  const std::string& text = corpus_text();
  size_t tokens = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto tok = load(dir);
    state.ResumeTiming();
    auto ids = tok->encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
    state.PauseTiming();
    tok.reset();
    state.ResumeTiming();
  }
  report(state, text.size(), tokens);
}
BENCHMARK(BM_EncodeCold)->Unit(benchmark::kMillisecond)->Iterations(5);

// A typical InternVL request: a chat prompt with one image of 13 tiles (13 x 256
// <IMG_CONTEXT> tokens, all found by the added-token matcher) and a short question.
void BM_EncodeImagePrompt(benchmark::State& state) {
  const Tokenizer& tok = shared_tokenizer();
  std::string prompt =
      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<img>";
  for (int i = 0; i < 13 * 256; ++i) prompt += "<IMG_CONTEXT>";
  prompt +=
      "</img>\nDescribe this image in detail, including the colours.<|im_end|>\n"
      "<|im_start|>assistant\n";
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tok.encode(prompt);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  report(state, prompt.size(), tokens);
}
BENCHMARK(BM_EncodeImagePrompt)->Unit(benchmark::kMicrosecond);

void BM_Decode(benchmark::State& state) {
  const Tokenizer& tok = shared_tokenizer();
  const auto ids = tok.encode(corpus_text());
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = tok.decode(ids, false);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  report(state, bytes, ids.size());
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

void BM_StreamDecode(benchmark::State& state) {
  const Tokenizer& tok = shared_tokenizer();
  const auto ids = tok.encode(corpus_text());
  size_t bytes = 0;
  for (auto _ : state) {
    ivl::tok::StreamDecoder stream(tok, false);
    bytes = 0;
    for (int32_t id : ids) bytes += stream.push(id).size();
    bytes += stream.flush().size();
  }
  report(state, bytes, ids.size());
}
BENCHMARK(BM_StreamDecode)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
