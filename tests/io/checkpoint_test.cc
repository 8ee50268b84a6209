#include "io/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/fixtures.h"

namespace ivl::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kSharded = "models/tiny-internvl3-qwen2";
constexpr const char* kShard1 = "model-00001-of-00002.safetensors";
constexpr const char* kShard2 = "model-00002-of-00002.safetensors";
constexpr const char* kIndex = "model.safetensors.index.json";

// ---- helpers -----------------------------------------------------------------------------

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A small valid safetensors file with U8 tensors of the given sizes, packed in order.
void write_u8_safetensors(const fs::path& path,
                          const std::vector<std::pair<std::string, int>>& tensors,
                          const json& metadata = json::object()) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  int offset = 0;
  for (const auto& [name, size] : tensors) {
    header[name] = {{"dtype", "U8"}, {"shape", {size}}, {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text = header.dump();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  write_text(path, bytes + text + std::string(static_cast<size_t>(offset), '\x07'));
}

// A scratch copy of the sharded fixture: the shards symlinked (as in the Hugging Face cache),
// the index rewritten by `edit`.
template <typename Edit>
fs::path sharded_copy(const std::string& name, Edit edit) {
  fs::path src = test::fixture(kSharded);
  fs::path dir = test::scratch_dir("checkpoint_" + name);
  fs::create_symlink(src / kShard1, dir / kShard1);
  fs::create_symlink(src / kShard2, dir / kShard2);
  json index = test::read_json_file(src / kIndex);
  edit(index);
  write_text(dir / kIndex, index.dump(2));
  return dir;
}

void expect_error(const Status& status, StatusCode code,
                  std::initializer_list<std::string_view> needles) {
  EXPECT_EQ(status.code(), code) << status.to_string();
  for (std::string_view needle : needles) {
    EXPECT_NE(status.message().find(needle), std::string::npos)
        << "message lacks '" << needle << "': " << status.message();
  }
}

size_t header_tensor_count(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  unsigned char len[8] = {};
  in.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  json header = json::parse(text);
  return header.size() - (header.contains("__metadata__") ? 1 : 0);
}

// ---- fixture models ----------------------------------------------------------------------

TEST(CheckpointFixtures, OpensAllFourModels) {
  for (const std::string& model : test::fixture_model_names()) {
    SCOPED_TRACE(model);
    fs::path dir = test::fixture("models/" + model);
    auto opened = Checkpoint::open(dir);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    const Checkpoint& ckpt = **opened;
    EXPECT_EQ(ckpt.dir(), dir);
    EXPECT_EQ(ckpt.names().size(), ckpt.tensor_count());
    EXPECT_TRUE(std::is_sorted(ckpt.names().begin(), ckpt.names().end()));
    EXPECT_EQ(ckpt.metadata().at("format"), "pt");

    uint64_t bytes = 0;
    for (const std::string& name : ckpt.names()) {
      const TensorView* v = ckpt.find(name);
      ASSERT_NE(v, nullptr) << name;
      EXPECT_EQ(v->dtype, DType::kBF16) << name;
      bytes += v->nbytes();
      // The view points into the mapping of the file that file_of() names: no copy.
      const SafetensorsFile* file = ckpt.file(ckpt.file_of(name));
      ASSERT_NE(file, nullptr) << name;
      EXPECT_EQ(file->find(name), v) << name;
      const std::byte* begin = file->mapped_bytes().data();
      EXPECT_GE(v->data, begin) << name;
      EXPECT_LE(v->data + v->nbytes(), begin + file->mapped_bytes().size()) << name;
    }
    EXPECT_EQ(bytes, ckpt.total_bytes());
    EXPECT_EQ(ckpt.find("no.such.tensor"), nullptr);
    EXPECT_EQ(ckpt.file_of("no.such.tensor"), "");

    if (fs::exists(dir / kIndex)) {
      json index = test::read_json_file(dir / kIndex);
      EXPECT_TRUE(ckpt.sharded());
      EXPECT_EQ(ckpt.tensor_count(), index["weight_map"].size());
      EXPECT_EQ(ckpt.total_bytes(), index["metadata"]["total_size"].get<uint64_t>());
      EXPECT_EQ(ckpt.files(), (std::vector<std::string>{kShard1, kShard2}));
      for (const auto& [tensor, shard] : index["weight_map"].items()) {
        EXPECT_EQ(ckpt.file_of(tensor), shard.get<std::string>()) << tensor;
      }
    } else {
      EXPECT_FALSE(ckpt.sharded());
      EXPECT_EQ(ckpt.files(), (std::vector<std::string>{"model.safetensors"}));
      EXPECT_EQ(ckpt.tensor_count(), header_tensor_count(dir / "model.safetensors"));
    }
  }
}

TEST(CheckpointFixtures, KnownTensors) {
  struct Expected {
    std::string model, tensor, file;
    Shape shape;
  };
  const std::vector<Expected> cases = {
      {"tiny-internvl3-qwen2", "language_model.model.embed_tokens.weight", kShard1, {151674, 64}},
      {"tiny-internvl3-qwen2",
       "vision_model.embeddings.position_embedding",
       kShard2,
       {1, 1025, 64}},
      {"tiny-internvl3-qwen2", "language_model.model.norm.weight", kShard2, {64}},
      {"tiny-internvl3-qwen2-hf",
       "model.language_model.embed_tokens.weight",
       "model.safetensors",
       {151674, 64}},
      {"tiny-internvl3-qwen2-hf",
       "model.multi_modal_projector.linear_1.weight",
       "model.safetensors",
       {64, 256}},
      {"tiny-internvl35-qwen3-v",
       "language_model.lm_head.weight",
       "model.safetensors",
       {151936, 48}},
      {"tiny-internvl35-qwen3-v",
       "vision_model.embeddings.patch_embedding.weight",
       "model.safetensors",
       {32, 3, 14, 14}},
      {"tiny-internvl35-qwen3-v-hf", "lm_head.weight", "model.safetensors", {151936, 48}},
      {"tiny-internvl35-qwen3-v-hf",
       "model.vision_tower.embeddings.cls_token",
       "model.safetensors",
       {1, 1, 32}},
  };
  for (const Expected& c : cases) {
    SCOPED_TRACE(c.model + " " + c.tensor);
    auto ckpt = Checkpoint::open(test::fixture("models/" + c.model));
    ASSERT_TRUE(ckpt.ok()) << ckpt.status().to_string();
    const TensorView* v = (*ckpt)->find(c.tensor);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->dtype, DType::kBF16);
    EXPECT_EQ(v->shape, c.shape);
    EXPECT_EQ((*ckpt)->file_of(c.tensor), c.file);
  }
  // Tied embeddings in the Qwen2 models: no lm_head at all.
  auto tied = Checkpoint::open(test::fixture(kSharded));
  ASSERT_TRUE(tied.ok()) << tied.status().to_string();
  EXPECT_EQ((*tied)->find("language_model.lm_head.weight"), nullptr);
}

TEST(CheckpointFixtures, ShardedValueMatchesTheHfSingleFile) {
  // The same random weights in both layouts: the sharded original and the single-file HF copy
  // must hold identical bytes for the embedding table.
  auto sharded = Checkpoint::open(test::fixture(kSharded));
  auto hf = Checkpoint::open(test::fixture("models/tiny-internvl3-qwen2-hf"));
  ASSERT_TRUE(sharded.ok()) << sharded.status().to_string();
  ASSERT_TRUE(hf.ok()) << hf.status().to_string();
  const TensorView* a = (*sharded)->find("language_model.model.embed_tokens.weight");
  const TensorView* b = (*hf)->find("model.language_model.embed_tokens.weight");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(a->nbytes(), b->nbytes());
  EXPECT_EQ(std::memcmp(a->data, b->data, a->nbytes()), 0);
}

// ---- file selection ----------------------------------------------------------------------

TEST(CheckpointSelection, SingleFileWithAnyName) {
  fs::path dir = test::scratch_dir("checkpoint_any_name");
  write_u8_safetensors(dir / "weights.safetensors", {{"x", 3}, {"y", 5}});
  auto ckpt = Checkpoint::open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().to_string();
  EXPECT_EQ((*ckpt)->files(), (std::vector<std::string>{"weights.safetensors"}));
  EXPECT_EQ((*ckpt)->names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ((*ckpt)->total_bytes(), 8u);
}

TEST(CheckpointSelection, ModelSafetensorsPreferredOverOtherFiles) {
  fs::path dir = test::scratch_dir("checkpoint_prefer");
  write_u8_safetensors(dir / "model.safetensors", {{"x", 3}});
  write_u8_safetensors(dir / "other.safetensors", {{"z", 3}});
  auto ckpt = Checkpoint::open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().to_string();
  EXPECT_EQ((*ckpt)->files(), (std::vector<std::string>{"model.safetensors"}));
  EXPECT_NE((*ckpt)->find("x"), nullptr);
  EXPECT_EQ((*ckpt)->find("z"), nullptr);
}

TEST(CheckpointSelection, SeveralFilesWithoutIndexIsNotFound) {
  fs::path dir = test::scratch_dir("checkpoint_several");
  write_u8_safetensors(dir / "a.safetensors", {{"x", 3}});
  write_u8_safetensors(dir / "b.safetensors", {{"y", 3}});
  auto ckpt = Checkpoint::open(dir);
  expect_error(ckpt.status(), StatusCode::kNotFound,
               {dir.string(), "a.safetensors", "b.safetensors", "index"});
}

TEST(CheckpointSelection, DirectoryWithNoSafetensors) {
  fs::path dir = test::scratch_dir("checkpoint_empty_dir");
  write_text(dir / "config.json", "{}");
  auto ckpt = Checkpoint::open(dir);
  expect_error(ckpt.status(), StatusCode::kNotFound,
               {dir.string(), kIndex, "model.safetensors", "*.safetensors"});
}

TEST(CheckpointSelection, MissingDirectory) {
  fs::path dir = test::scratch_dir("checkpoint_missing_dir") / "nope";
  auto ckpt = Checkpoint::open(dir);
  expect_error(ckpt.status(), StatusCode::kNotFound, {dir.string()});
}

TEST(CheckpointSelection, CorruptSingleFileErrorNamesIt) {
  fs::path dir = test::scratch_dir("checkpoint_corrupt_single");
  write_text(dir / "model.safetensors", "1234567");
  auto ckpt = Checkpoint::open(dir);
  expect_error(ckpt.status(), StatusCode::kCorruptData, {"model.safetensors"});
}

TEST(CheckpointSelection, MetadataIsMergedFirstFileWins) {
  fs::path dir = test::scratch_dir("checkpoint_metadata");
  write_u8_safetensors(dir / "s1.safetensors", {{"x", 2}}, {{"format", "pt"}, {"a", "1"}});
  write_u8_safetensors(dir / "s2.safetensors", {{"y", 2}}, {{"format", "np"}, {"b", "2"}});
  write_text(dir / kIndex, json{{"metadata", {{"total_size", 4}}},
                                {"weight_map", {{"x", "s1.safetensors"}, {"y", "s2.safetensors"}}}}
                               .dump());
  auto ckpt = Checkpoint::open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().to_string();
  const auto& md = (*ckpt)->metadata();
  EXPECT_EQ(md.at("format"), "pt");
  EXPECT_EQ(md.at("a"), "1");
  EXPECT_EQ(md.at("b"), "2");
  const SafetensorsFile* s2 = (*ckpt)->file("s2.safetensors");
  ASSERT_NE(s2, nullptr);
  EXPECT_EQ(s2->metadata().at("format"), "np");
}

// ---- bad indexes -------------------------------------------------------------------------

TEST(CheckpointIndex, SymlinkedShardsWithUnchangedIndexOpen) {
  fs::path dir = sharded_copy("symlinks", [](json&) {});
  auto ckpt = Checkpoint::open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().to_string();
  EXPECT_EQ((*ckpt)->tensor_count(), 64u);
}

TEST(CheckpointIndex, MissingShard) {
  const std::string tensor = "language_model.model.norm.weight";
  fs::path dir = sharded_copy("missing_shard", [&](json& index) {
    index["weight_map"][tensor] = "model-00003-of-00003.safetensors";
    index["weight_map"]["mlp1.0.bias"] = "gone.safetensors";
  });
  auto ckpt = Checkpoint::open(dir);
  expect_error(ckpt.status(), StatusCode::kNotFound,
               {kIndex, "model-00003-of-00003.safetensors", "gone.safetensors"});
}

TEST(CheckpointIndex, PathTraversalShardName) {
  const std::string tensor = "language_model.model.norm.weight";
  for (std::string bad :
       {std::string("../") + kShard2, std::string("sub/") + kShard2, std::string(".."),
        fs::absolute(test::fixture(kSharded) / kShard2).string()}) {
    SCOPED_TRACE(bad);
    fs::path dir =
        sharded_copy("traversal", [&](json& index) { index["weight_map"][tensor] = bad; });
    auto ckpt = Checkpoint::open(dir);
    expect_error(ckpt.status(), StatusCode::kCorruptData,
                 {kIndex, tensor, bad, "not a plain file name"});
  }
}

TEST(CheckpointIndex, IndexedTensorNotInItsShard) {
  fs::path dir = sharded_copy("not_in_shard", [](json& index) {
    index["weight_map"]["language_model.model.ghost.weight"] = kShard1;
  });
  auto ckpt = Checkpoint::open(dir);
  expect_error(ckpt.status(), StatusCode::kCorruptData,
               {kIndex, "language_model.model.ghost.weight", kShard1});
}

TEST(CheckpointIndex, IndexedTensorMappedToTheWrongShard) {
  const std::string tensor = "vision_model.embeddings.patch_embedding.weight";  // in shard 2
  fs::path dir =
      sharded_copy("wrong_shard", [&](json& index) { index["weight_map"][tensor] = kShard1; });
  auto ckpt = Checkpoint::open(dir);
  expect_error(ckpt.status(), StatusCode::kCorruptData, {kIndex, tensor, kShard1});
}

TEST(CheckpointIndex, ShardTensorMissingFromIndex) {
  const std::string tensor = "mlp1.1.weight";
  fs::path dir =
      sharded_copy("not_in_index", [&](json& index) { index["weight_map"].erase(tensor); });
  auto ckpt = Checkpoint::open(dir);
  expect_error(ckpt.status(), StatusCode::kCorruptData,
               {kIndex, tensor, kShard1, "mismatched index"});
}

TEST(CheckpointIndex, SameTensorInTwoShards) {
  fs::path dir = test::scratch_dir("checkpoint_two_shards");
  write_u8_safetensors(dir / "a.safetensors", {{"shared.weight", 4}, {"x", 1}});
  write_u8_safetensors(dir / "b.safetensors", {{"shared.weight", 4}, {"y", 1}});
  write_text(
      dir / kIndex,
      json{{"weight_map",
            {{"shared.weight", "a.safetensors"}, {"x", "a.safetensors"}, {"y", "b.safetensors"}}}}
          .dump());
  auto ckpt = Checkpoint::open(dir);
  expect_error(ckpt.status(), StatusCode::kCorruptData,
               {"shared.weight", "a.safetensors", "b.safetensors", "both"});
}

TEST(CheckpointIndex, CorruptShardErrorNamesTheShard) {
  fs::path dir = test::scratch_dir("checkpoint_corrupt_shard");
  write_u8_safetensors(dir / "a.safetensors", {{"x", 1}});
  write_text(dir / "b.safetensors", "garbage");
  write_text(dir / kIndex,
             json{{"weight_map", {{"x", "a.safetensors"}, {"y", "b.safetensors"}}}}.dump());
  auto ckpt = Checkpoint::open(dir);
  expect_error(ckpt.status(), StatusCode::kCorruptData, {"b.safetensors"});
}

TEST(CheckpointIndex, MalformedIndexJson) {
  struct Case {
    std::string name, text, needle;
  };
  const std::vector<Case> cases = {
      {"invalid", R"({"weight_map": {"x": )", "not valid JSON"},
      {"array", R"([1, 2])", "object"},
      {"no_weight_map", R"({"metadata": {}})", "weight_map"},
      {"weight_map_type", R"({"weight_map": [1]})", "weight_map"},
      {"shard_type", R"({"weight_map": {"x": 3}})", "'x'"},
      {"metadata_type", R"({"metadata": 1, "weight_map": {}})", "metadata"},
      {"duplicate", R"({"weight_map": {"x": "a.safetensors", "x": "b.safetensors"}})",
       "duplicate key 'x'"},
      // Valid up to the NUL, where nlohmann alone would stop reading.
      {"nul", std::string(R"({"weight_map": {"x": "a.safetensors"}})") + '\0' + "junk", "NUL"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    fs::path dir = test::scratch_dir("checkpoint_bad_index_" + c.name);
    write_u8_safetensors(dir / "a.safetensors", {{"x", 1}});
    write_text(dir / kIndex, c.text);
    auto ckpt = Checkpoint::open(dir);
    expect_error(ckpt.status(), StatusCode::kCorruptData, {kIndex, c.needle});
  }
}

}  // namespace
}  // namespace ivl::io
