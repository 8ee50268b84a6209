// `internvl mkmodel`: each release's checkpoint (truncated to one layer) loads, and `inspect`
// reports the dimensions that ../shared/docs/internvl-checkpoints.json gives for that release.
// One test per release so each stays short: the vocabulary-sized tensors alone are 0.3-3 GB.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>

#include "cli/cli_runner.h"
#include "support/fixtures.h"

namespace ivl::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const json& checkpoints_doc() {
  static const json doc =
      read_json_file(fixtures_dir().parent_path() / "docs" / "internvl-checkpoints.json");
  return doc;
}

const json& find_checkpoint(const std::string& name) {
  for (const json& c : checkpoints_doc()["checkpoints"]) {
    if (c["name"] == name) return c;
  }
  throw std::runtime_error(name + " is not in internvl-checkpoints.json");
}

// The vision encoder entry, following "same_architecture_as".
const json& vision_encoder(const std::string& name) {
  const json& v = checkpoints_doc()["vision_encoders"][name];
  if (v.contains("same_architecture_as")) return vision_encoder(v["same_architecture_as"]);
  return v;
}

json inspect(const fs::path& dir) {
  CliResult r = run_cli({"inspect", "-m", dir.string(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json::object();
}

class MkmodelRelease : public testing::TestWithParam<std::string> {};

TEST_P(MkmodelRelease, InspectReportsTheReleaseDims) {
  const std::string name = GetParam();
  const json& c = find_checkpoint(name);
  const json& v = vision_encoder(c["vision_encoder"]);
  const json& l = checkpoints_doc()["llm_bases"][c["llm_base"].get<std::string>()];
  const fs::path dir = scratch_dir("mkmodel_" + name) / "model";
  CliResult made = run_cli({"mkmodel", "--like", name, "-o", dir.string(), "--layers", "1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const json s = inspect(dir);
  ASSERT_FALSE(s.empty());

  EXPECT_EQ(s["layout"].get<std::string>().rfind("original", 0), 0u);
  EXPECT_TRUE(s["checkpoint"]["unused_tensors"].empty()) << s["checkpoint"]["unused_tensors"];
  EXPECT_EQ(s["checkpoint"]["dtypes"]["BF16"], s["checkpoint"]["tensors"]);

  const json& sv = s["vision"];
  EXPECT_EQ(sv["layers"], 1);
  EXPECT_EQ(sv["hidden_size"], v["hidden_size"]);
  EXPECT_EQ(sv["heads"], v["num_attention_heads"]);
  EXPECT_EQ(sv["intermediate_size"], v["intermediate_size"]);
  EXPECT_EQ(sv["norm"], v["norm_type"]);
  EXPECT_EQ(sv["qkv_bias"], v["qkv_bias"]);
  EXPECT_EQ(sv["qk_norm"], v["qk_normalization"]);
  EXPECT_EQ(sv["patch_size"], v["patch_size"]);
  EXPECT_EQ(sv["select_layer"], c["select_layer"]);
  EXPECT_EQ(s["projector"]["input"], v["projector_in"]);
  EXPECT_EQ(s["projector"]["hidden"], l["hidden"]);

  const json& sl = s["llm"];
  EXPECT_EQ(sl["architecture"], l["arch"]);
  EXPECT_EQ(sl["layers"], 1);
  EXPECT_EQ(sl["hidden_size"], l["hidden"]);
  EXPECT_EQ(sl["heads"], l["heads"]);
  EXPECT_EQ(sl["kv_heads"], l["kv_heads"]);
  EXPECT_EQ(sl["head_dim"], l["head_dim"]);
  EXPECT_EQ(sl["intermediate_size"], l["ffn"]);
  EXPECT_EQ(sl["rope"]["theta"], l["rope_theta"]);
  if (l.contains("max_pos")) {
    EXPECT_EQ(sl["max_position_embeddings"], l["max_pos"]);
  }
  EXPECT_EQ(sl["qkv_bias"], l.value("qkv_bias", l.value("bias", false)));
  EXPECT_EQ(sl["qk_norm"], l.value("qk_norm", false));
  const json rope = c.value("llm_rope_scaling", l.value("rope_scaling", json()));
  if (rope.is_object()) {
    EXPECT_EQ(sl["rope"]["type"], rope["type"]);
    EXPECT_EQ(sl["rope"]["factor"], rope["factor"]);
  }
  // Vocabulary: the release's where the json states it. InternLM2 releases are the documented
  // exception (mkmodel ships the Qwen tokenizer, which needs more rows than 92553).
  const int64_t tokenizer_size = s["tokenizer"]["vocab_size"];
  if (c.contains("vocab_size")) {
    EXPECT_EQ(sl["vocab_size"], c["vocab_size"]);
  } else if (l.contains("base_vocab")) {
    EXPECT_EQ(sl["vocab_size"], l["base_vocab"]);
  } else if (l.contains("vocab_with_internvl_tokens")) {
    EXPECT_EQ(sl["vocab_size"], tokenizer_size);
    EXPECT_GT(tokenizer_size, l["vocab_with_internvl_tokens"].get<int64_t>());
  }
  EXPECT_GE(sl["vocab_size"].get<int64_t>(), tokenizer_size);
  // Tied head: the checkpoint's flag, else 3.5 follows the base LLM and 1.5-3.0 are untied
  // (json field_notes.tie_word_embeddings).
  const json& tie = c.contains("tie_word_embeddings") ? c["tie_word_embeddings"] : json();
  const bool tied =
      tie.is_boolean() ? tie.get<bool>() : (c["series"] == "3.5" && l.value("base_tie", false));
  EXPECT_EQ(sl["tied_head"], tied);

  EXPECT_EQ(s["template"]["name"], c["template"]);
  EXPECT_EQ(s["image"]["ps_version"], c["ps_version"]);
  EXPECT_EQ(s["image"]["tile_size"], c["force_image_size"]);
  EXPECT_EQ(s["image"]["downsample_ratio"], c["downsample_ratio"]);
  EXPECT_EQ(s["image"]["tokens_per_tile"], c["num_image_token"]);
  EXPECT_EQ(s["image"]["min_tiles"], c["min_dynamic_patch"]);
  EXPECT_EQ(s["image"]["max_tiles"], c["max_dynamic_patch"]);
  EXPECT_EQ(s["image"]["thumbnail"], c["use_thumbnail"]);
  if (c.contains("image_context_token_id")) {
    EXPECT_EQ(s["tokenizer"]["image_context_id"], c["image_context_token_id"]);
  }
  fs::remove_all(dir.parent_path());
}

// The releases the brief names, with the json's spelling of their names.
INSTANTIATE_TEST_SUITE_P(Releases, MkmodelRelease,
                         testing::Values("InternVL3-1B", "InternVL3_5-1B", "InternVL3-2B",
                                         "InternVL3_5-2B", "InternVL2_5-8B", "InternVL3_5-8B"),
                         [](const testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           for (char& ch : n)
                             ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

// Sharded like a large release (index + numbered files), and it generates.
TEST(Mkmodel, ShardedCheckpointRuns) {
  const fs::path dir = scratch_dir("mkmodel_sharded") / "model";
  // Dotted names are accepted for the json's underscores.
  CliResult made = run_cli({"mkmodel", "--like", "InternVL3.5-1B", "-o", dir.string(), "--layers",
                            "1", "--shard-mb", "100", "--seed", "7"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const json s = inspect(dir);
  ASSERT_FALSE(s.empty());
  EXPECT_TRUE(s["checkpoint"]["sharded"].get<bool>());
  // The 311 MB embedding alone exceeds 100 MB, so it has a shard of its own.
  const size_t n = s["checkpoint"]["files"].size();
  EXPECT_GE(n, 3u);
  const json index = read_json_file(dir / "model.safetensors.index.json");
  EXPECT_EQ(index["weight_map"]["language_model.model.embed_tokens.weight"],
            "model-00002-of-0000" + std::to_string(n) + ".safetensors");
  EXPECT_EQ(index["metadata"]["total_size"], s["checkpoint"]["bytes"]);
  EXPECT_EQ(read_json_file(dir / "config.json")["mkmodel"]["seed"], 7);

  CliResult run = run_cli(
      {"run", "-m", dir.string(), "-p", "Hi", "-n", "2", "--ignore-eos", "--json", "-t", "2"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(json::parse(run.out)["generated_ids"].size(), 2u);  // --json: one line
  fs::remove_all(dir.parent_path());
}

TEST(Mkmodel, RefusesUnknownNamesAndNonEmptyDirectories) {
  const fs::path dir = scratch_dir("mkmodel_refuse");
  CliResult unknown = run_cli({"mkmodel", "--like", "InternVL9-1T", "-o", (dir / "x").string()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("InternVL3_5-8B"), std::string::npos) << unknown.err;
  EXPECT_FALSE(fs::exists(dir / "x"));

  std::ofstream(dir / "keep.txt") << "x";
  CliResult busy = run_cli({"mkmodel", "--like", "InternVL3-1B", "-o", dir.string()});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.err.find("not an empty directory"), std::string::npos) << busy.err;
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);

  CliResult layers =
      run_cli({"mkmodel", "--like", "InternVL3-1B", "-o", (dir / "y").string(), "--layers", "25"});
  EXPECT_EQ(layers.exit_code, 1);
  EXPECT_NE(layers.err.find("--layers"), std::string::npos) << layers.err;
  EXPECT_FALSE(fs::exists(dir / "y"));
}

}  // namespace
}  // namespace ivl::test
