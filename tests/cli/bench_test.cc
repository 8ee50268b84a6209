// `internvl bench` on the bundled tiny model with tiny sizes: the report's structure and the
// invariants that cannot hold by accident. Timings are never compared with thresholds.
#include <gtest/gtest.h>

#include <fstream>

#include "cli/cli_runner.h"
#include "support/fixtures.h"

namespace ivl::test {
namespace {

using nlohmann::json;

const std::string kModel = std::string(IVL_SOURCE_DIR) + "/models/tiny-internvl3-qwen2";

void expect_spread(const json& s, const std::string& what) {
  ASSERT_TRUE(s.is_object()) << what;
  const double median = s["median"], min = s["min"], max = s["max"];
  EXPECT_GT(min, 0.0) << what;
  EXPECT_LE(min, median) << what;
  EXPECT_LE(median, max) << what;
}

// Prompt tokens of a one-word text request: the template's tokens + 1.
int64_t prompt_tokens_of_one_word() {
  CliResult r = run_cli({"run", "-m", kModel, "-p", "the", "-n", "1", "--json", "-t", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out)["prompt_tokens"].get<int64_t>();  // --json: one line
}

TEST(CliBench, JsonReportHoldsTheRequestedWork) {
  CliResult r =
      run_cli({"bench", "-m", kModel, "--tiles", "1", "--prompt-tokens", "32", "--gen-tokens", "4",
               "--repeat", "1", "--warmup", "0", "--json", "-t", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("run 1/1"), std::string::npos) << r.err;  // progress on stderr
  const json j = json::parse(r.out);

  EXPECT_EQ(j["model"], kModel);
  EXPECT_EQ(j["options"]["tiles"], 1);
  EXPECT_EQ(j["options"]["prompt_tokens"], 32);
  EXPECT_EQ(j["options"]["gen_tokens"], 4);
  EXPECT_EQ(j["options"]["repeat"], 1);
  EXPECT_EQ(j["options"]["warmup"], 0);
  EXPECT_EQ(j["options"]["quant"], "auto");
  EXPECT_EQ(j["options"]["vision_quant"], "auto");
  // What auto means for a float checkpoint: bf16 LLM, q8_0 vision tower (runtime_weights.h).
  EXPECT_EQ(j["model_info"]["llm_weights"], "bf16");
  EXPECT_EQ(j["model_info"]["vision_weights"], "q8_0");
  EXPECT_FALSE(j["machine"]["cpu"].get<std::string>().empty());
  EXPECT_GE(j["machine"]["cores"].get<int>(), 1);
  EXPECT_EQ(j["machine"]["threads"], 2);
  EXPECT_GT(j["load_s"].get<double>(), 0.0);

  EXPECT_EQ(j["vision"]["tiles"], 1);
  expect_spread(j["vision"]["ms_per_tile"], "vision");
  // 32 one-token words plus exactly what the template adds around a one-word prompt.
  const int64_t template_tokens = prompt_tokens_of_one_word() - 1;
  EXPECT_NEAR(j["prefill"]["prompt_tokens"].get<double>(),
              static_cast<double>(template_tokens + 32), 2.0);
  expect_spread(j["prefill"]["ms"], "prefill ms");
  expect_spread(j["prefill"]["tokens_per_s"], "prefill rate");
  EXPECT_EQ(j["decode"]["generated_tokens"], 4);
  EXPECT_EQ(j["decode"]["steps"], 3);  // the first token comes from the prefill
  // By default decode starts after the template and one short sentence.
  EXPECT_EQ(j["options"]["decode_context"], 0);
  EXPECT_GT(j["decode"]["prompt_tokens"].get<int64_t>(), template_tokens);
  EXPECT_LT(j["decode"]["prompt_tokens"].get<int64_t>(), template_tokens + 20);
  expect_spread(j["decode"]["ms"], "decode ms");
  expect_spread(j["decode"]["tokens_per_s"], "decode rate");
  // One tile's 256 <IMG_CONTEXT> + <img></img> + the question inside the template.
  const int64_t tile_tokens = j["model_info"]["tokens_per_tile"];
  EXPECT_EQ(tile_tokens, 256);
  EXPECT_GT(j["ttft"]["prompt_tokens"].get<int64_t>(), tile_tokens + 2 + template_tokens);
  EXPECT_LT(j["ttft"]["prompt_tokens"].get<int64_t>(), tile_tokens + 2 + template_tokens + 40);
  expect_spread(j["ttft"]["ms"], "ttft");
  // One run: the spread collapses onto it.
  EXPECT_EQ(j["decode"]["ms"]["min"], j["decode"]["ms"]["max"]);

  CliResult inspected = run_cli({"inspect", "-m", kModel, "--json"});
  ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
  const uint64_t weights = j["memory"]["weight_bytes"];
  EXPECT_EQ(weights, json::parse(inspected.out)["checkpoint"]["bytes"].get<uint64_t>());
  // bf16 packing copies every matrix (not the embedding table) once.
  EXPECT_GT(j["memory"]["converted_bytes"].get<uint64_t>(), 0u);
  EXPECT_LT(j["memory"]["converted_bytes"].get<uint64_t>(), weights);
  EXPECT_GT(j["memory"]["peak_rss_bytes"].get<uint64_t>(), weights);
}

// Weight bytes of one decode step in q8_0 (34 bytes per 32 weights: int8 codes + an fp16
// scale), from the bundled model's config.json: q|k|v, o, gate|up, down per layer, tied head.
uint64_t q8_0_decode_bytes_from_config() {
  std::ifstream in(kModel + "/config.json");
  const json llm = json::parse(in)["llm_config"];
  const int64_t h = llm["hidden_size"], inter = llm["intermediate_size"],
                heads = llm["num_attention_heads"], kv_heads = llm["num_key_value_heads"],
                layers = llm["num_hidden_layers"], vocab = llm["vocab_size"];
  const int64_t head_dim = h / heads;
  const int64_t per_layer = h * (heads + 2 * kv_heads) * head_dim  // q | k | v
                            + heads * head_dim * h                 // o
                            + h * 2 * inter                        // gate | up
                            + inter * h;                           // down
  return static_cast<uint64_t>((layers * per_layer + vocab * h) / 32 * 34);
}

TEST(CliBench, DecodeReadsAreReportedAgainstAPlainMemoryRead) {
  CliResult r =
      run_cli({"bench", "-m", kModel, "--quant", "q8_0", "--tiles", "1", "--prompt-tokens", "8",
               "--gen-tokens", "4", "--repeat", "1", "--warmup", "0", "--json", "-t", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  const uint64_t per_token = j["decode"]["weight_bytes_per_token"];
  EXPECT_EQ(per_token, q8_0_decode_bytes_from_config());
  const double rate = j["decode"]["tokens_per_s"]["median"];
  expect_spread(j["decode"]["weight_bytes_per_s"], "decode weight reads");
  EXPECT_NEAR(j["decode"]["weight_bytes_per_s"]["median"].get<double>(),
              rate * static_cast<double>(per_token), 1e-6 * rate * static_cast<double>(per_token));
  const double read = j["memory"]["read_bytes_per_s"];
  EXPECT_GT(read, 0.0);
  EXPECT_NEAR(j["decode"]["read_fraction"].get<double>(),
              rate * static_cast<double>(per_token) / read, 1e-9);
}

// --decode-context N puts N one-token words (and a newline) before the decode instruction.
TEST(CliBench, DecodeContextIsWhereDecodeStarts) {
  auto decode_prompt = [](const char* context) {
    CliResult r = run_cli({"bench", "-m", kModel, "--tiles", "1", "--prompt-tokens", "8",
                           "--gen-tokens", "3", "--decode-context", context, "--repeat", "1",
                           "--warmup", "0", "--json", "-t", "2"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["options"]["decode_context"], std::stoi(context));
    EXPECT_EQ(j["decode"]["steps"], 2);
    return j["decode"]["prompt_tokens"].get<int64_t>();
  };
  const int64_t short_prompt = decode_prompt("0"), long_prompt = decode_prompt("40");
  EXPECT_NEAR(static_cast<double>(long_prompt - short_prompt), 41.0, 1.0);

  CliResult bad = run_cli({"bench", "-m", kModel, "--decode-context", "-1"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("decode-context"), std::string::npos) << bad.err;
}

// --temperature / --top-p / --top-k sample the decode request (its time then includes the
// sampler's); still exactly --gen-tokens tokens, and the report says how they were picked.
TEST(CliBench, DecodeCanBeSampled) {
  CliResult r = run_cli({"bench", "-m",
                         kModel,  "--tiles",
                         "1",     "--prompt-tokens",
                         "8",     "--gen-tokens",
                         "6",     "--temperature",
                         "0.8",   "--top-p",
                         "0.9",   "--top-k",
                         "50",    "--repeat",
                         "1",     "--warmup",
                         "0",     "--json",
                         "-t",    "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_FLOAT_EQ(j["options"]["decode_sampling"]["temperature"].get<float>(), 0.8f);
  EXPECT_FLOAT_EQ(j["options"]["decode_sampling"]["top_p"].get<float>(), 0.9f);
  EXPECT_EQ(j["options"]["decode_sampling"]["top_k"], 50);
  EXPECT_EQ(j["decode"]["steps"], 5);

  CliResult table = run_cli({"bench", "-m", kModel, "--tiles", "1", "--prompt-tokens", "8",
                             "--gen-tokens", "3", "--temperature", "0.7", "--top-p", "0.95",
                             "--repeat", "1", "--warmup", "0", "-t", "2"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("sampled: T 0.7, top-p 0.95, top-k 0"), std::string::npos) << table.out;

  CliResult greedy = run_cli({"bench", "-m", kModel, "--tiles", "1", "--prompt-tokens", "8",
                              "--gen-tokens", "2", "--repeat", "1", "--warmup", "0", "-t", "2"});
  ASSERT_EQ(greedy.exit_code, 0) << greedy.err;
  EXPECT_EQ(greedy.out.find("sampled"), std::string::npos) << greedy.out;

  for (const char* top_p : {"1.5", "0", "-0.1", "abc"}) {
    CliResult bad = run_cli({"bench", "-m", kModel, "--top-p", top_p});
    EXPECT_NE(bad.exit_code, 0) << top_p;
    EXPECT_NE(bad.err.find("top-p"), std::string::npos) << bad.err;
    EXPECT_EQ(bad.err.find("loading"), std::string::npos) << "rejected before loading: " << bad.err;
  }
}

TEST(CliBench, TableByDefault) {
  CliResult r = run_cli({"bench", "-m", kModel, "--tiles", "1", "--prompt-tokens", "8",
                         "--gen-tokens", "2", "--repeat", "2", "--warmup", "1", "-t", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* needle :
       {"median", "ms/tile", "prefill", "decode (steps: 1, after ", "tokens/s", "first token",
        "peak RSS", "1 warm-up + 2 timed", "decode weight reads", "plain memory read"}) {
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << " in\n" << r.out;
  }
}

}  // namespace
}  // namespace ivl::test
