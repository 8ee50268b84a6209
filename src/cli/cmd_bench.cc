// `internvl bench`: end-to-end speed of a checkpoint through the public API — vision encode per
// tile, prefill and decode tokens/s, time to first token with an image, load time and memory.
// W warm-up runs, then R timed repeats; every number is reported as median and min-max.
// Decode is bound by memory bandwidth, which differs between hosts and drifts over time on a
// shared one, so after the runs the same process measures a plain read of memory with the same
// thread count (core/read_bandwidth.h) and reports decode's weight reads as a fraction of it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/bench_workload.h"
#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "core/read_bandwidth.h"
#include "core/thread_pool.h"

namespace ivl::cli {
namespace {

using nlohmann::ordered_json;

struct BenchOptions {
  EngineFlags engine;
  BenchSizes sizes;
  DecodeSampling sampling;
  int repeat = 3;
  int warmup = 1;
  bool json = false;
};

struct Spread {
  double median = 0, min = 0, max = 0;
};

Spread spread(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {.median = median, .min = v.front(), .max = v.back()};
}

ordered_json to_json(const Spread& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

double per_second(int64_t n, double ms) {
  return ms > 0 ? 1000.0 * static_cast<double>(n) / ms : 0;
}

// "model name" of the first processor in /proc/cpuinfo ("unknown" elsewhere).
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
  }
  return "unknown";
}

// VmHWM (peak resident set) from /proc/self/status, in bytes; 0 if unavailable.
uint64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "N kB"
  }
  return 0;
}

struct Results {
  std::vector<BenchSample> samples;
  double load_s = 0;
  uint64_t peak_rss = 0;
  double read_bytes_per_s = 0;  // the probe, after the runs
};

// Big enough to stream from memory past any last-level cache; passes of the probe (best kept).
constexpr size_t kProbeBytes = size_t{256} << 20;
constexpr int kProbePasses = 5;

// The per-metric series of the samples.
struct Series {
  std::vector<double> vision, prefill_ms, prefill_rate, decode_ms, decode_rate, decode_bytes_rate,
      ttft;
  Series(const std::vector<BenchSample>& samples, size_t decode_weight_bytes) {
    for (const BenchSample& s : samples) {
      vision.push_back(s.vision_ms_per_tile);
      prefill_ms.push_back(s.prefill_ms);
      prefill_rate.push_back(per_second(s.prefill_tokens, s.prefill_ms));
      decode_ms.push_back(s.decode_ms);
      decode_rate.push_back(per_second(s.decode_steps, s.decode_ms));
      decode_bytes_rate.push_back(decode_rate.back() * static_cast<double>(decode_weight_bytes));
      ttft.push_back(s.ttft_ms);
    }
  }
};

ordered_json report_json(const BenchOptions& o, const Engine& engine, const Results& r) {
  const ModelInfo& info = engine.info();
  const Series s(r.samples, info.decode_weight_bytes);
  const BenchSample& last = r.samples.back();
  const unsigned cores = std::thread::hardware_concurrency();
  ordered_json j;
  j["model"] = o.engine.model_dir;
  j["options"] = {{"quant", o.engine.llm_weights},
                  {"vision_quant", o.engine.vision_weights},
                  {"threads", o.engine.threads},
                  {"context", o.engine.context},
                  {"tiles", o.sizes.tiles},
                  {"prompt_tokens", o.sizes.prompt_tokens},
                  {"gen_tokens", o.sizes.gen_tokens},
                  {"decode_context", o.sizes.decode_context},
                  {"decode_sampling",
                   {{"temperature", o.sampling.temperature},
                    {"top_p", o.sampling.top_p},
                    {"top_k", o.sampling.top_k}}},
                  {"repeat", o.repeat},
                  {"warmup", o.warmup}};
  j["machine"] = {
      {"cpu", cpu_model()},
      {"cores", cores},
      {"threads", o.engine.threads > 0 ? static_cast<unsigned>(o.engine.threads) : cores}};
  j["model_info"] = {{"layout", info.layout},
                     {"llm_backbone", info.llm_backbone},
                     {"template", info.template_name},
                     {"context_length", info.context_length},
                     {"tokens_per_tile", info.tokens_per_tile},
                     {"llm_weights", info.llm_weights},
                     {"vision_weights", info.vision_weights}};
  j["load_s"] = r.load_s;
  j["vision"] = {{"tiles", o.sizes.tiles}, {"ms_per_tile", to_json(spread(s.vision))}};
  j["prefill"] = {{"prompt_tokens", last.prefill_tokens},
                  {"ms", to_json(spread(s.prefill_ms))},
                  {"tokens_per_s", to_json(spread(s.prefill_rate))}};
  j["decode"] = {{"prompt_tokens", last.decode_prompt_tokens},
                 {"generated_tokens", o.sizes.gen_tokens},
                 {"steps", last.decode_steps},
                 {"ms", to_json(spread(s.decode_ms))},
                 {"tokens_per_s", to_json(spread(s.decode_rate))},
                 {"weight_bytes_per_token", info.decode_weight_bytes},
                 {"weight_bytes_per_s", to_json(spread(s.decode_bytes_rate))},
                 {"read_fraction", spread(s.decode_bytes_rate).median / r.read_bytes_per_s}};
  j["ttft"] = {
      {"tiles", 1}, {"prompt_tokens", last.ttft_prompt_tokens}, {"ms", to_json(spread(s.ttft))}};
  j["memory"] = {{"peak_rss_bytes", r.peak_rss},
                 {"weight_bytes", info.weight_bytes},
                 {"converted_bytes", info.converted_bytes},
                 {"read_bytes_per_s", r.read_bytes_per_s}};
  return j;
}

void print_table(const ordered_json& j) {
  auto row = [](const char* what, const ordered_json& s, const char* unit) {
    std::printf("%-40s %10.2f %10.2f %10.2f  %s\n", what, s["median"].get<double>(),
                s["min"].get<double>(), s["max"].get<double>(), unit);
  };
  const double mib = 1024.0 * 1024.0;
  std::printf("model    %s (%s, %s)\n", j["model"].get<std::string>().c_str(),
              j["model_info"]["llm_backbone"].get<std::string>().c_str(),
              j["model_info"]["layout"].get<std::string>().c_str());
  std::printf("machine  %s, %u cores, %u threads\n", j["machine"]["cpu"].get<std::string>().c_str(),
              j["machine"]["cores"].get<unsigned>(), j["machine"]["threads"].get<unsigned>());
  std::printf(
      "weights  llm %s, vision %s; %.1f MiB mapped + %.1f MiB converted; loaded in %.2f s\n",
      j["model_info"]["llm_weights"].get<std::string>().c_str(),
      j["model_info"]["vision_weights"].get<std::string>().c_str(),
      j["memory"]["weight_bytes"].get<double>() / mib,
      j["memory"]["converted_bytes"].get<double>() / mib, j["load_s"].get<double>());
  std::printf("runs     %d warm-up + %d timed\n\n", j["options"]["warmup"].get<int>(),
              j["options"]["repeat"].get<int>());
  std::printf("%-40s %10s %10s %10s\n", "", "median", "min", "max");
  const std::string vision = "vision (tiles: " + j["vision"]["tiles"].dump() + ")";
  row(vision.c_str(), j["vision"]["ms_per_tile"], "ms/tile");
  const std::string prefill =
      "prefill (prompt: " + j["prefill"]["prompt_tokens"].dump() + " tokens)";
  row(prefill.c_str(), j["prefill"]["tokens_per_s"], "tokens/s");
  std::string decode = "decode (steps: " + j["decode"]["steps"].dump() + ", after " +
                       j["decode"]["prompt_tokens"].dump() + " tokens";
  const ordered_json& sampled = j["options"]["decode_sampling"];
  if (sampled["temperature"].get<float>() > 0) {
    char how[96];
    std::snprintf(how, sizeof how, ", sampled: T %g, top-p %g, top-k %d",
                  sampled["temperature"].get<double>(), sampled["top_p"].get<double>(),
                  sampled["top_k"].get<int>());
    decode += how;
  }
  decode += ")";
  row(decode.c_str(), j["decode"]["tokens_per_s"], "tokens/s");
  const std::string reads =
      "decode weight reads (" +
      std::to_string(j["decode"]["weight_bytes_per_token"].get<size_t>() >> 20) + " MiB/token)";
  auto gb = [](const ordered_json& s) {
    ordered_json g;
    for (const char* k : {"median", "min", "max"}) g[k] = s[k].get<double>() * 1e-9;
    return g;
  };
  row(reads.c_str(), gb(j["decode"]["weight_bytes_per_s"]), "GB/s");
  const std::string ttft =
      "first token (1 tile, " + j["ttft"]["prompt_tokens"].dump() + "-token prompt)";
  row(ttft.c_str(), j["ttft"]["ms"], "ms");
  std::printf("\npeak RSS %.1f MiB\n", j["memory"]["peak_rss_bytes"].get<double>() / mib);
  std::printf(
      "plain memory read, same threads, after the runs: %.1f GB/s; decode reads weights "
      "at %.0f %% of it\n",
      j["memory"]["read_bytes_per_s"].get<double>() * 1e-9,
      100 * j["decode"]["read_fraction"].get<double>());
}

int run_bench(const BenchOptions& o) {
  auto workload = BenchWorkload::make(o.sizes, o.sampling);
  if (!workload.ok()) return report_error(workload.status());
  const auto t0 = std::chrono::steady_clock::now();
  auto engine = load_engine(o.engine);
  if (!engine.ok()) return report_error(engine.status());
  Results r;
  r.load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto session = (*engine)->new_session();
  const int total = o.warmup + o.repeat;
  for (int i = 0; i < total; ++i) {
    const bool warm = i < o.warmup;
    std::fprintf(stderr, "%s %d/%d ...", warm ? "warm-up" : "run", warm ? i + 1 : i - o.warmup + 1,
                 warm ? o.warmup : o.repeat);
    std::fflush(stderr);
    auto sample = workload->run(*session);
    if (!sample.ok()) {
      std::fprintf(stderr, " failed\n");
      return report_error(sample.status());
    }
    std::fprintf(stderr,
                 " vision %.1f ms/tile, prefill %.1f tok/s, decode %.1f tok/s, TTFT %.1f ms\n",
                 sample->vision_ms_per_tile, per_second(sample->prefill_tokens, sample->prefill_ms),
                 per_second(sample->decode_steps, sample->decode_ms), sample->ttft_ms);
    if (!warm) r.samples.push_back(*sample);
  }
  r.peak_rss = peak_rss_bytes();  // before the probe's buffer exists
  {
    ThreadPool pool(o.engine.threads);
    const ReadProbe probe(kProbeBytes);
    r.read_bytes_per_s = probe.best_bytes_per_second(pool, kProbePasses);
  }
  const ordered_json j = report_json(o, **engine, r);
  if (o.json) {
    std::cout << j.dump(2) << "\n";
  } else {
    print_table(j);
  }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand(
      "bench",
      "Measure a checkpoint end to end: vision encode per tile, prefill and decode tokens/s, "
      "time to first token with one image, load time, peak memory (median and min-max of R "
      "runs after W warm-ups)");
  add_engine_flags(sub, &o->engine);
  sub->add_option("--tiles", o->sizes.tiles, "448x448 images (one tile each) to encode (default 4)")
      ->check(CLI::Range(1, 64));
  sub->add_option("--prompt-tokens", o->sizes.prompt_tokens,
                  "Text tokens of the prefill prompt, before the template (default 512)")
      ->check(CLI::Range(1, 1 << 20));
  sub->add_option("--gen-tokens", o->sizes.gen_tokens,
                  "Tokens to generate; decode speed is over the last N-1 (default 128)")
      ->check(CLI::Range(2, 1 << 20));
  sub->add_option("--decode-context", o->sizes.decode_context,
                  "Text tokens before the decode request's instruction, so decode runs after "
                  "about this much more context (default 0: the template and one sentence, 57 "
                  "tokens for InternVL3; the report states the count)")
      ->check(CLI::Range(0, 1 << 20));
  sub->add_option("--temperature", o->sampling.temperature,
                  "Sample the decode request's tokens at this temperature (default 0: greedy); "
                  "decode's time then includes the sampler's")
      ->check(CLI::Range(0.0, 100.0));
  sub->add_option("--top-p", o->sampling.top_p,
                  "With --temperature: nucleus sampling mass (default 1 = off)")
      ->check(probability_mass());
  sub->add_option("--top-k", o->sampling.top_k,
                  "With --temperature: keep the K most likely tokens (default 0 = off)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--repeat", o->repeat, "Timed runs (default 3)")->check(CLI::Range(1, 1000));
  sub->add_option("--warmup", o->warmup, "Untimed runs first (default 1)")
      ->check(CLI::Range(0, 1000));
  sub->add_flag("--json", o->json, "Print the results as one JSON object");
  sub->callback([o, exit_code] { *exit_code = run_bench(*o); });
}

}  // namespace ivl::cli
