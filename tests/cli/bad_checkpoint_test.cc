// Broken checkpoints through the real CLI: each must give a clear error on stderr and exit 1 —
// never a crash, a hang, or a zero exit.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_runner.h"
#include "support/fixtures.h"

namespace ivl::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A copy of fixture model `name` in a scratch dir: small files copied, large ones symlinked.
fs::path clone_model(const std::string& name, const std::string& as) {
  fs::path src = fixture("models/" + name);
  fs::path dst = scratch_dir("bad_" + as);
  for (const auto& e : fs::directory_iterator(src)) {
    if (e.file_size() > 1 << 20) {
      fs::create_symlink(e.path(), dst / e.path().filename());
    } else {
      fs::copy_file(e.path(), dst / e.path().filename());
    }
  }
  return dst;
}

void replace_file(const fs::path& p, const std::string& content) {
  fs::remove(p);
  std::ofstream(p, std::ios::binary) << content;
}

void expect_clean_failure(const fs::path& dir, const std::string& needle) {
  CliResult r = run_cli({"inspect", "-m", dir.string()});
  EXPECT_FALSE(r.signaled) << "crashed: " << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("internvl: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(BadCheckpoint, TruncatedSafetensors) {
  fs::path d = clone_model("tiny-internvl35-qwen3-v", "truncated");
  std::string bytes = read_text_file(fixture("models/tiny-internvl35-qwen3-v/model.safetensors"));
  replace_file(d / "model.safetensors", bytes.substr(0, bytes.size() / 2));
  expect_clean_failure(d, "model.safetensors");
}

TEST(BadCheckpoint, HeaderLengthLies) {
  fs::path d = clone_model("tiny-internvl35-qwen3-v", "lying_header");
  std::string bytes = read_text_file(fixture("models/tiny-internvl35-qwen3-v/model.safetensors"));
  bytes[6] = '\x7f';  // header length now far beyond the file
  replace_file(d / "model.safetensors", bytes);
  expect_clean_failure(d, "header");
}

TEST(BadCheckpoint, HeaderOffsetsLie) {
  fs::path d = clone_model("tiny-internvl35-qwen3-v", "lying_offsets");
  std::string bytes = read_text_file(fixture("models/tiny-internvl35-qwen3-v/model.safetensors"));
  // Grow one tensor's end offset: its byte length no longer matches dtype x shape.
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  json header = json::parse(bytes.substr(8, n));
  auto& entry = header["mlp1.1.weight"];
  entry["data_offsets"][1] = entry["data_offsets"][1].get<uint64_t>() + 2;
  std::string text = header.dump();
  if (text.size() > n) GTEST_FAIL() << "test setup: header grew";
  text.append(n - text.size(), ' ');
  replace_file(d / "model.safetensors", bytes.substr(0, 8) + text + bytes.substr(8 + n));
  expect_clean_failure(d, "mlp1.1.weight");
}

TEST(BadCheckpoint, MissingShard) {
  fs::path d = clone_model("tiny-internvl3-qwen2", "missing_shard");
  fs::remove(d / "model-00002-of-00002.safetensors");
  expect_clean_failure(d, "model-00002-of-00002.safetensors");
}

TEST(BadCheckpoint, MalformedConfig) {
  fs::path d = clone_model("tiny-internvl3-qwen2", "malformed_config");
  replace_file(d / "config.json", "{\"architectures\": [\"InternVLChatModel\"],");
  expect_clean_failure(d, "config.json");
}

TEST(BadCheckpoint, ContradictoryConfig) {
  fs::path d = clone_model("tiny-internvl3-qwen2", "contradictory_config");
  json c = read_json_file(d / "config.json");
  c["llm_config"]["num_key_value_heads"] = 3;
  c["llm_config"]["hidden_size"] = 48;  // now disagrees with every LLM tensor
  replace_file(d / "config.json", c.dump());
  expect_clean_failure(d, "num_key_value_heads");

  c["llm_config"]["num_key_value_heads"] = 2;
  replace_file(d / "config.json", c.dump());
  expect_clean_failure(d, "expected [151674, 48], found [151674, 64]");
}

TEST(BadCheckpoint, UnknownArchitecture) {
  fs::path d = clone_model("tiny-internvl3-qwen2", "unknown_arch");
  json c = read_json_file(d / "config.json");
  c["llm_config"]["architectures"] = {"MambaForCausalLM"};
  replace_file(d / "config.json", c.dump());
  expect_clean_failure(d, "Qwen2ForCausalLM");  // the error lists what is supported
}

TEST(BadCheckpoint, UnknownTemplate) {
  fs::path d = clone_model("tiny-internvl3-qwen2", "unknown_template");
  json c = read_json_file(d / "config.json");
  c["template"] = "vicuna_v1.1";
  replace_file(d / "config.json", c.dump());
  expect_clean_failure(d, "internvl2_5");
}

TEST(BadCheckpoint, UnreadableTokenizer) {
  fs::path d = clone_model("tiny-internvl35-qwen3-v", "bad_tokenizer");
  replace_file(d / "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": ");
  expect_clean_failure(d, "tokenizer.json");
}

TEST(BadCheckpoint, NoTokenizerFiles) {
  fs::path d = clone_model("tiny-internvl35-qwen3-v", "no_tokenizer");
  fs::remove(d / "tokenizer.json");
  expect_clean_failure(d, "tokenizer");
}

TEST(BadCheckpoint, NotAModelDirectory) {
  CliResult r = run_cli({"inspect", "-m", "/nonexistent/model"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.signaled);
  fs::path empty = scratch_dir("bad_empty_dir");
  expect_clean_failure(empty, "config.json");
}

}  // namespace
}  // namespace ivl::test
