#include <gtest/gtest.h>

#include <fstream>

#include "cli/cli_runner.h"
#include "support/fixtures.h"

namespace ivl::test {
namespace {

using nlohmann::json;

std::string model_path(const std::string& name) {
  return fixture("models/" + name).string();
}

TEST(Cli, InspectEveryFixtureAsJson) {
  for (const auto& name : fixture_model_names()) {
    CliResult r = run_cli({"inspect", "-m", model_path(name), "--json"});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    json s = json::parse(r.out);
    bool native = name.ends_with("-hf");
    EXPECT_EQ(s["layout"].get<std::string>().rfind(native ? "native" : "original", 0), 0u) << name;
    EXPECT_EQ(s["template"]["name"], "internvl2_5");
    EXPECT_EQ(s["image"]["tokens_per_tile"], 256);
    EXPECT_EQ(s["checkpoint"]["dtypes"]["BF16"], s["checkpoint"]["tensors"]);
    EXPECT_TRUE(s["checkpoint"]["unused_tensors"].empty());
    EXPECT_EQ(s["llm"]["tied_head"], name.find("qwen2") != std::string::npos) << name;
    EXPECT_EQ(s["tokenizer"]["adds_bos"], false);
    EXPECT_EQ(s["parameters"]["total"].get<int64_t>(),
              s["parameters"]["vision"].get<int64_t>() +
                  s["parameters"]["projector"].get<int64_t>() +
                  s["parameters"]["llm"].get<int64_t>());
  }
}

TEST(Cli, InspectText) {
  CliResult r = run_cli({"inspect", "-m", model_path("tiny-internvl3-qwen2")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* needle :
       {"original (InternVLChatModel)", "2 file(s)", "qwen2 (Qwen2ForCausalLM)",
        "tied to embedding", "internvl2_5", "<IMG_CONTEXT> 151667", "vocab.json + merges.txt"}) {
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << "\n" << r.out;
  }
}

// Ids from the reference tokenizer corpus (produced by the `tokenizers` library).
TEST(Cli, TokenizeMatchesReference) {
  json corpus = read_json_file(fixture("tokenizer/tokenizer_tiny-internvl35-qwen3-v.json"));
  for (const std::string model : {"tiny-internvl35-qwen3-v", "tiny-internvl3-qwen2"}) {
    for (int i : {0, 5, 17}) {
      const json& row = corpus[static_cast<size_t>(i)];
      if (model == "tiny-internvl3-qwen2" &&
          row["text"].get<std::string>().find('<') != std::string::npos)
        continue;
      CliResult r = run_cli({"tokenize", "-m", model_path(model), row["text"].get<std::string>()});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(json::parse(r.out), row["ids"]) << model << " row " << i;
    }
  }
}

TEST(Cli, TokenizeBatchFromJson) {
  auto dir = scratch_dir("cli_tokenize_batch");
  std::ofstream(dir / "in.json") << R"(["Hello world", "<img><IMG_CONTEXT></img>", ""])";
  CliResult r = run_cli({"tokenize", "-m", model_path("tiny-internvl3-qwen2"), "--input-json",
                         (dir / "in.json").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out),
            json::parse(R"([{"ids":[9707,1879]},{"ids":[151665,151667,151666]},{"ids":[]}])"));

  std::ofstream(dir / "bad.json") << R"(["ok", 5])";
  r = run_cli({"tokenize", "-m", model_path("tiny-internvl3-qwen2"), "--input-json",
               (dir / "bad.json").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("element 1 is not a string"), std::string::npos) << r.err;
  r = run_cli({"tokenize", "-m", model_path("tiny-internvl3-qwen2")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("either TEXT or --input-json"), std::string::npos) << r.err;
}

TEST(Cli, HelpOnEverySubcommand) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"inspect", "--help"}, {"tokenize", "--help"}}) {
    CliResult r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << args[0] << "\n" << r.out;
  }
  CliResult none = run_cli({});
  EXPECT_NE(none.exit_code, 0);
  CliResult unknown = run_cli({"frobnicate"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_FALSE(unknown.err.empty());
  CliResult missing = run_cli({"inspect"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("--model"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace ivl::test
