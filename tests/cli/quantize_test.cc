// `internvl quantize` and quantized checkpoints: a quantized checkpoint computes exactly what
// quantizing at load computes (same bytes, used in place), loads with ~0 converted bytes, is
// smaller, and every malformed variant (U8 without metadata, wrong row bytes, unknown format,
// quantized vectors, another format asked at load) is a clear error.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "cli/cli_runner.h"
#include "core/half.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "ivl/engine.h"
#include "model/llm/decoder.h"
#include "model/vision/internvit.h"
#include "prompt/reference_cases.h"
#include "runtime/engine_impl.h"
#include "runtime/image_pipeline.h"
#include "support/fixtures.h"

namespace ivl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string base_model(const std::string& m) {
  return m.ends_with("-hf") ? m.substr(0, m.size() - 3) : m;
}

// Runs `internvl quantize`; the new directory.
fs::path quantize(const fs::path& in, const std::string& scratch, const std::string& format,
                  const std::string& vision_format) {
  const fs::path out = test::scratch_dir(scratch) / "q";
  test::CliResult r = test::run_cli({"quantize", "-m", in.string(), "-o", out.string(), "--format",
                                     format, "--vision-format", vision_format, "-t", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

uint64_t safetensors_bytes(const fs::path& dir) {
  uint64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".safetensors") n += fs::file_size(e.path());
  }
  return n;
}

std::shared_ptr<const Engine> load(const fs::path& dir, WeightFormat llm, WeightFormat vision) {
  auto e = Engine::load(
      {.model_dir = dir.string(), .llm_weights = llm, .vision_weights = vision, .threads = 2});
  EXPECT_TRUE(e.ok()) << e.status().to_string();
  return e.ok() ? *e : nullptr;
}

struct Outcome {
  std::vector<int32_t> tokens;
  std::vector<float> logits;  // last prompt position
};

// The reference case's greedy tokens and the last prompt position's logits (through the engine's
// own pieces, as engine_reference_test computes them).
Outcome run_case(const Engine& engine, const test::ReferenceCase& c) {
  Request req;
  req.prompt = c.turns.question;
  req.history = c.turns.history;
  if (c.expected.contains("images") && c.expected["images"].is_array()) {
    for (const auto& name : c.expected["images"]) {
      req.images.push_back({.path = test::fixture("images/" + name.get<std::string>()).string()});
    }
    req.max_tiles = c.expected["max_num"][0].get<int>();
  }
  req.sampling.max_new_tokens = 8;
  req.sampling.ignore_eos = true;
  Outcome out;
  auto r = engine.new_session()->generate(req);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  if (!r.ok()) return out;
  out.tokens = r->generated_ids;
  const auto& e = dynamic_cast<const runtime::EngineImpl&>(engine);
  std::vector<float> pixels, features;
  int64_t tiles = 0;
  for (const ImageInput& img : req.images) {
    auto p =
        runtime::prepare_image(img, e.model().config, req.max_tiles, e.options().max_image_pixels);
    EXPECT_TRUE(p.ok());
    pixels.insert(pixels.end(), p->pixels.begin(), p->pixels.end());
    tiles += p->tiles;
  }
  if (tiles > 0) {
    features = model::image_features(e.model().config, e.weights(), pixels.data(), tiles, e.pool(),
                                     nullptr);
  }
  const int64_t h = e.decoder().spec().hidden_size, n = static_cast<int64_t>(r->prompt_ids.size());
  std::vector<float> x(static_cast<size_t>(n * h));
  e.decoder().embed(r->prompt_ids, x.data());
  int64_t row = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (r->prompt_ids[static_cast<size_t>(i)] == e.special().image_context) {
      std::copy(features.begin() + row * h, features.begin() + (row + 1) * h, x.begin() + i * h);
      ++row;
    }
  }
  model::KvCache cache = e.decoder().make_cache(n);
  out.logits.resize(static_cast<size_t>(e.decoder().spec().vocab_size));
  e.decoder().forward(x.data(), n, cache, out.logits.data(), e.pool(), nullptr);
  return out;
}

// A quantized part of a checkpoint converts (almost) nothing at load: only the matrices whose K
// fits no quantized format (the patch embedding, K = 588 at real sizes) become bf16 panels.
size_t float_matrix_bytes_left(const fs::path& dir) {
  auto ck = io::Checkpoint::open(dir);
  EXPECT_TRUE(ck.ok());
  size_t n = 0;
  for (const std::string& name : (*ck)->names()) {
    const TensorView* v = (*ck)->find(name);
    if (v->dtype != DType::kU8 && v->shape.size() >= 2) n += v->nbytes();
  }
  return n;
}

struct Param {
  std::string model;
  std::string format;         // llm
  std::string vision_format;  // vision
};

void PrintTo(const Param& p, std::ostream* os) {
  *os << p.model << " " << p.format << " " << p.vision_format;
}

WeightFormat format_of(const std::string& name) {
  return *weight_format_from_name(name == "stored" ? "auto" : name);
}

class QuantizedCheckpoint : public ::testing::TestWithParam<Param> {};

// The quantized checkpoint, loaded with the default (auto), gives bit for bit the tokens and
// logits of the original loaded with the same formats asked at load.
TEST_P(QuantizedCheckpoint, SameAsQuantizingAtLoad) {
  const Param& p = GetParam();
  const fs::path original = test::fixture("models/" + p.model);
  std::string scratch = "quantize_" + p.model + "_" + p.format + "_" + p.vision_format;
  const fs::path q = quantize(original, scratch, p.format, p.vision_format);
  ASSERT_TRUE(fs::exists(q / "config.json"));
  const json config = test::read_json_file(q / "config.json");
  ASSERT_TRUE(config.contains("internvl_cpp_quantization"));
  EXPECT_EQ(config["internvl_cpp_quantization"]["llm"], p.format);
  EXPECT_EQ(config["internvl_cpp_quantization"]["vision"], p.vision_format);
  EXPECT_EQ(config["internvl_cpp_quantization"]["version"], 1);

  auto at_load = load(original, format_of(p.format), format_of(p.vision_format));
  auto from_file = load(q, WeightFormat::kAuto, WeightFormat::kAuto);
  ASSERT_TRUE(at_load && from_file);
  EXPECT_EQ(from_file->info().llm_weights, at_load->info().llm_weights);
  EXPECT_EQ(from_file->info().vision_weights, at_load->info().vision_weights);
  EXPECT_EQ(from_file->info().llm_weights, p.format);
  // "stored" asks for the same as auto on a quantized part.
  auto stored = load(q, WeightFormat::kStored, format_of(p.vision_format));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->info().llm_weights, p.format);

  // Converted at load: only float matrices (K that fits no format, or an unquantized part).
  const size_t left = float_matrix_bytes_left(q);
  EXPECT_LE(from_file->info().converted_bytes, left + (size_t{64} << 10))
      << "converted " << from_file->info().converted_bytes << " of " << left;
  EXPECT_LT(from_file->info().converted_bytes, at_load->info().converted_bytes);
  std::printf("[ quantized ] %-28s llm %-4s vision %-6s converted at load %8zu -> %8zu bytes\n",
              p.model.c_str(), p.format.c_str(), p.vision_format.c_str(),
              at_load->info().converted_bytes, from_file->info().converted_bytes);

  const auto cases = test::reference_cases(base_model(p.model));
  int run = 0;
  for (const auto& c : cases) {
    if (c.name != "text_only" && c.name != "single_square") continue;
    SCOPED_TRACE(c.name);
    ++run;
    const Outcome a = run_case(*at_load, c), b = run_case(*from_file, c);
    EXPECT_EQ(a.tokens, b.tokens);
    ASSERT_EQ(a.logits.size(), b.logits.size());
    ASSERT_FALSE(a.logits.empty());
    EXPECT_EQ(std::memcmp(a.logits.data(), b.logits.data(), a.logits.size() * 4), 0)
        << "last logits differ";
  }
  EXPECT_EQ(run, 2);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, QuantizedCheckpoint,
                         ::testing::Values(Param{"tiny-internvl3-qwen2", "q8_0", "q8_0"},
                                           Param{"tiny-internvl3-qwen2", "q4_0", "q4_0"},
                                           Param{"tiny-internvl3-qwen2-hf", "q8_0", "q8_0"},
                                           Param{"tiny-internvl3-qwen2-hf", "q4_0", "stored"},
                                           Param{"tiny-internvl35-qwen3-v", "q8_0", "q8_0"},
                                           Param{"tiny-internvl35-qwen3-v", "q4_0", "q4_0"},
                                           Param{"tiny-internvl35-qwen3-v-hf", "q8_0", "stored"},
                                           Param{"tiny-internvl35-qwen3-v-hf", "q4_0", "q4_0"}),
                         [](const auto& param_info) {
                           const Param& p = param_info.param;
                           std::string name = p.model + "_" + p.format + "_" + p.vision_format;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// The files: quantized matrices are U8 rows of the original's row count; the tied head gets a
// quantized lm_head while the embedding stays as stored; q4_0 < q8_0 < the original.
TEST(QuantizedCheckpoint, FileLayoutAndSizes) {
  const fs::path original = test::fixture("models/tiny-internvl3-qwen2");
  const fs::path q8 = quantize(original, "quantize_sizes_q8", "q8_0", "q8_0");
  const fs::path q4 = quantize(original, "quantize_sizes_q4", "q4_0", "q4_0");
  auto in = io::Checkpoint::open(original);
  auto c8 = io::Checkpoint::open(q8);
  auto c4 = io::Checkpoint::open(q4);
  ASSERT_TRUE(in.ok() && c8.ok() && c4.ok());
  EXPECT_EQ((*c8)->files(), (*in)->files());  // sharded like the input
  const std::string head = "language_model.lm_head.weight";
  ASSERT_EQ((*in)->find(head), nullptr);  // tied in the original
  const TensorView* embed = (*c8)->find("language_model.model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->dtype, DType::kBF16);
  const TensorView* h8 = (*c8)->find(head);
  ASSERT_NE(h8, nullptr);
  EXPECT_EQ(h8->dtype, DType::kU8);
  EXPECT_EQ(h8->shape, (Shape{embed->shape[0], embed->shape[1] + embed->shape[1] / 32 * 2}));
  const TensorView* qkv = (*c4)->find("vision_model.encoder.layers.0.attn.qkv.weight");
  ASSERT_NE(qkv, nullptr);
  EXPECT_EQ(qkv->dtype, DType::kU8);
  EXPECT_EQ(qkv->shape, (Shape{3 * 64, 64 / 2 + 64 / 32 * 2}));
  // Every other original tensor is there, byte for byte unless quantized.
  uint64_t quantized_in = 0, quantized_out = 0;
  for (const std::string& name : (*in)->names()) {
    const TensorView* a = (*in)->find(name);
    const TensorView* b = (*c8)->find(name);
    ASSERT_NE(b, nullptr) << name;
    if (b->dtype == DType::kU8) {
      EXPECT_EQ(b->shape[0], a->shape[0]) << name;
      quantized_in += a->nbytes();
      quantized_out += b->nbytes();
    } else {
      EXPECT_EQ(a->shape, b->shape) << name;
      EXPECT_EQ(std::memcmp(a->data, b->data, a->nbytes()), 0) << name;
    }
  }
  EXPECT_GT(quantized_in, 0u);
  EXPECT_LT(quantized_out, quantized_in);
  const uint64_t s8 = safetensors_bytes(q8), s4 = safetensors_bytes(q4),
                 s16 = safetensors_bytes(original);
  std::printf("[ sizes     ] bf16 %llu  q8_0 %llu (lm_head %llu)  q4_0 %llu bytes\n",
              static_cast<unsigned long long>(s16), static_cast<unsigned long long>(s8),
              static_cast<unsigned long long>(h8->nbytes()), static_cast<unsigned long long>(s4));
  EXPECT_LT(s4, s8);
  // The added head is the only growth: without it the quantized files are smaller.
  EXPECT_LT(s8 - h8->nbytes(), s16);
}

// --- Malformed quantized checkpoints ---------------------------------------------------------

// A copy of a quantized checkpoint directory, with config.json passed through `edit`.
fs::path copy_with_config(const fs::path& src, const std::string& scratch,
                          const std::function<void(json&)>& edit) {
  const fs::path dir = test::scratch_dir(scratch) / "m";
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(src))
    fs::copy_file(e.path(), dir / e.path().filename());
  json config = test::read_json_file(dir / "config.json");
  edit(config);
  std::ofstream(dir / "config.json", std::ios::trunc) << config.dump(2);
  return dir;
}

// A copy of checkpoint directory `src` (one safetensors file) in a scratch directory, with each
// tensor passed through `edit` (which may change its dtype, shape and bytes) before it is written.
fs::path copy_with_tensors(const fs::path& src, const std::string& scratch,
                           const std::function<void(io::TensorToWrite&)>& edit) {
  const fs::path dir = test::scratch_dir(scratch) / "m";
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(src)) {
    if (e.path().extension() != ".safetensors") fs::copy_file(e.path(), dir / e.path().filename());
  }
  auto f = io::SafetensorsFile::open((src / "model.safetensors").string());
  EXPECT_TRUE(f.ok()) << f.status().to_string();
  if (!f.ok()) return dir;
  std::vector<io::TensorToWrite> tensors;
  for (const std::string& name : (*f)->names()) {
    const TensorView* v = (*f)->find(name);
    io::TensorToWrite t{.name = name, .dtype = v->dtype, .shape = v->shape, .data = {}};
    t.data.assign(v->data, v->data + v->nbytes());
    edit(t);
    tensors.push_back(std::move(t));
  }
  EXPECT_TRUE(io::write_safetensors((dir / "model.safetensors").string(), tensors).ok());
  return dir;
}

Status load_status(const fs::path& dir, WeightFormat llm = WeightFormat::kAuto,
                   WeightFormat vision = WeightFormat::kAuto) {
  auto e = Engine::load(
      {.model_dir = dir.string(), .llm_weights = llm, .vision_weights = vision, .threads = 1});
  return e.ok() ? Status() : e.status();
}

// Each test quantizes its own copy: ctest runs the tests of this file as parallel processes.
class BadQuantized : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    q8_ = quantize(test::fixture("models/tiny-internvl35-qwen3-v-hf"), "quantize_bad_src_" + name,
                   "q8_0", "q8_0");
  }
  const fs::path& q8() const { return q8_; }
  fs::path q8_;
};

TEST_F(BadQuantized, U8MatrixWithoutMetadata) {
  const fs::path dir = copy_with_config(q8(), "quantize_bad_nometa",
                                        [](json& c) { c.erase("internvl_cpp_quantization"); });
  const Status s = load_status(dir);
  EXPECT_EQ(s.code(), StatusCode::kCorruptData) << s.to_string();
  EXPECT_NE(s.message().find("is U8"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("internvl_cpp_quantization"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("mlp.down_proj.weight"), std::string::npos) << s.message();
}

TEST_F(BadQuantized, WrongRowBytes) {
  // The file holds q8_0 rows; a config that says q4_0 expects q4_0 rows where K allows (o_proj,
  // K = 64: 36 bytes a row instead of 68; down_proj, K = 96, falls back to q8_0 either way).
  const fs::path dir = copy_with_config(
      q8(), "quantize_bad_rows", [](json& c) { c["internvl_cpp_quantization"]["llm"] = "q4_0"; });
  const Status s = load_status(dir);
  EXPECT_EQ(s.code(), StatusCode::kCorruptData) << s.to_string();
  EXPECT_NE(s.message().find("expected U8 [48, 36]"), std::string::npos) << s.message();
}

TEST_F(BadQuantized, QuantizedPartDeclaredStored) {
  const fs::path dir = copy_with_config(q8(), "quantize_bad_part", [](json& c) {
    c["internvl_cpp_quantization"]["vision"] = "stored";
  });
  const Status s = load_status(dir);
  EXPECT_EQ(s.code(), StatusCode::kCorruptData) << s.to_string();
  EXPECT_NE(s.message().find("vision part is stored unquantized"), std::string::npos)
      << s.message();
}

TEST_F(BadQuantized, UnknownFormatOrVersion) {
  const fs::path dir = copy_with_config(
      q8(), "quantize_bad_format", [](json& c) { c["internvl_cpp_quantization"]["llm"] = "q5_k"; });
  Status s = load_status(dir);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.to_string();
  EXPECT_NE(s.message().find("\"q5_k\""), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("supported: stored, q8_0, q4_0"), std::string::npos) << s.message();
  const fs::path v2 = copy_with_config(
      q8(), "quantize_bad_version", [](json& c) { c["internvl_cpp_quantization"]["version"] = 2; });
  s = load_status(v2);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.to_string();
  const fs::path bad_type = copy_with_config(
      q8(), "quantize_bad_type", [](json& c) { c["internvl_cpp_quantization"] = "q8_0"; });
  s = load_status(bad_type);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
}

TEST_F(BadQuantized, QuantizedVector) {
  // A norm weight stored as U8: never a quantized matrix.
  const fs::path dir = copy_with_tensors(q8(), "quantize_bad_vector", [](io::TensorToWrite& t) {
    if (t.name == "model.language_model.norm.weight") {
      t.dtype = DType::kU8;
      t.shape = {t.shape[0] * 2};
    }
  });
  const Status s = load_status(dir);
  EXPECT_EQ(s.code(), StatusCode::kCorruptData) << s.to_string();
  EXPECT_NE(s.message().find("model.language_model.norm.weight"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("only the matrices of linear layers"), std::string::npos)
      << s.message();
}

TEST_F(BadQuantized, AnotherFormatAtLoad) {
  for (WeightFormat f : {WeightFormat::kBF16, WeightFormat::kF32, WeightFormat::kQ4_0}) {
    const Status s = load_status(q8(), f);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
    EXPECT_NE(s.message().find("quantized to q8_0"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("original float checkpoint"), std::string::npos) << s.message();
  }
  const Status s = load_status(q8(), WeightFormat::kAuto, WeightFormat::kBF16);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  EXPECT_TRUE(load_status(q8(), WeightFormat::kQ8_0, WeightFormat::kStored).ok());
}

// A quantized checkpoint whose file lies about a block scale (an fp16 NaN where a scale belongs)
// loads — scales are not scanned, the file is used in place — but generation stops with an error
// at the first token instead of returning tokens made from NaNs.
TEST_F(BadQuantized, NanBlockScaleStopsGeneration) {
  const fs::path dir = copy_with_tensors(q8(), "quantize_bad_scale", [](io::TensorToWrite& t) {
    if (t.name != "model.language_model.layers.0.mlp.down_proj.weight") return;
    ASSERT_EQ(t.dtype, DType::kU8);
    ASSERT_EQ(t.shape, (Shape{48, 96 + 3 * 2}));  // 96 codes, then 3 fp16 scales
    const uint16_t nan = 0x7e00;
    std::memcpy(t.data.data() + 7 * t.shape[1] + 96 + 2, &nan, 2);  // row 7, block 1
  });
  auto engine = load(dir, WeightFormat::kAuto, WeightFormat::kAuto);
  ASSERT_NE(engine, nullptr);
  Request req;
  req.prompt = "Hello";
  req.sampling.max_new_tokens = 4;
  auto r = engine->new_session()->generate(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruptData) << r.status().to_string();
  EXPECT_NE(r.status().message().find("non-finite logits"), std::string::npos)
      << r.status().message();
}

// --- Float weights a quantized format cannot hold --------------------------------------------

struct WeightEdit {
  int64_t row, col;
  float value;
};

// A copy of float fixture model `model` (one safetensors file) in which the elements of tensor
// `name` at each edit's (row, col) are its value (in the tensor's dtype, bf16).
fs::path with_weights(const std::string& model, const std::string& scratch, const std::string& name,
                      const std::vector<WeightEdit>& edits) {
  bool found = false;
  const fs::path dir =
      copy_with_tensors(test::fixture("models/" + model), scratch, [&](io::TensorToWrite& t) {
        if (t.name != name) return;
        found = true;
        ASSERT_EQ(t.dtype, DType::kBF16);
        for (const WeightEdit& e : edits) {
          const uint16_t bits = f32_to_bf16(e.value);
          std::memcpy(t.data.data() + 2 * (e.row * t.shape[1] + e.col), &bits, 2);
        }
      });
  EXPECT_TRUE(found) << name;
  return dir;
}

fs::path with_weight(const std::string& model, const std::string& scratch, const std::string& name,
                     int64_t row, int64_t col, float value) {
  return with_weights(model, scratch, name, {{row, col, value}});
}

// Quantizing at load names the checkpoint tensor and row (the vision k_proj is fused after
// q_proj's 32 rows: its own row 5 is reported), says what to do, and the float formats still load
// the file.
TEST(UnquantizableWeights, LoadNamesTheTensorAndRow) {
  const std::string k_proj = "model.vision_tower.encoder.layer.0.attention.k_proj.weight";
  const fs::path nan_dir =
      with_weight("tiny-internvl35-qwen3-v-hf", "unquantizable_nan", k_proj, 5, 7, NAN);
  for (WeightFormat f : {WeightFormat::kQ8_0, WeightFormat::kQ4_0}) {
    const Status s = load_status(nan_dir, WeightFormat::kBF16, f);
    EXPECT_EQ(s.code(), StatusCode::kCorruptData) << s.to_string();
    EXPECT_NE(s.message().find(nan_dir.string()), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("tensor '" + k_proj + "' row 5 holds a NaN or infinite weight"),
              std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("download it again"), std::string::npos) << s.message();
  }
  EXPECT_TRUE(load_status(nan_dir, WeightFormat::kBF16, WeightFormat::kBF16).ok());

  const std::string fc1 = "model.vision_tower.encoder.layer.1.mlp.fc1.weight";
  const fs::path big_dir =
      with_weight("tiny-internvl35-qwen3-v-hf", "unquantizable_big", fc1, 90, 31, 2e7f);
  const Status s = load_status(big_dir, WeightFormat::kBF16, WeightFormat::kQ8_0);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.to_string();
  EXPECT_NE(s.message().find("tensor '" + fc1 + "' row 90 holds weights too large for q8_0"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("as bf16 (--vision-quant"), std::string::npos) << s.message();
  EXPECT_TRUE(load_status(big_dir, WeightFormat::kBF16, WeightFormat::kBF16).ok());
}

// `internvl quantize` fails the same way and leaves nothing behind. Its two threads take rows
// [0, 24) and [24, 48) of the 48-row matrix: the lower bad row is reported, whichever thread
// finds its own first. An overflowing vision matrix gets the vision tower's advice.
TEST(UnquantizableWeights, QuantizeFailsCleanly) {
  const std::string down = "model.language_model.layers.1.mlp.down_proj.weight";
  const fs::path in = with_weights("tiny-internvl35-qwen3-v-hf", "unquantizable_cli", down,
                                   {{23, 95, -INFINITY}, {24, 0, NAN}});
  const fs::path out = test::scratch_dir("unquantizable_cli_out") / "q";
  const test::CliResult r = test::run_cli(
      {"quantize", "-m", in.string(), "-o", out.string(), "--format", "q4_0", "-t", "2"});
  EXPECT_FALSE(r.signaled) << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("tensor '" + down + "' row 23 holds a NaN or infinite weight"),
            std::string::npos)
      << r.err;
  const std::string fc2 = "model.vision_tower.encoder.layer.0.mlp.fc2.weight";
  const fs::path big =
      with_weight("tiny-internvl35-qwen3-v-hf", "unquantizable_cli_big", fc2, 3, 64, 1e6f);
  const test::CliResult v = test::run_cli({"quantize", "-m", big.string(), "-o", out.string(),
                                           "--format", "q8_0", "--vision-format", "q4_0"});
  EXPECT_EQ(v.exit_code, 1) << v.err;
  EXPECT_NE(v.err.find("tensor '" + fc2 + "' row 3 holds weights too large for q4_0"),
            std::string::npos)
      << v.err;
  EXPECT_NE(v.err.find("--vision-format stored"), std::string::npos) << v.err;
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(out.parent_path())) {
    ADD_FAILURE() << "left behind: " << e.path();
  }
}

// Loaded as bf16 (kept as stored), a NaN weight reaches the logits: generation stops with an
// error instead of returning whatever token argmax makes of NaNs; the engine stays usable.
TEST(NonFiniteWeights, GenerationStopsWithAnError) {
  const fs::path dir =
      with_weight("tiny-internvl35-qwen3-v-hf", "nonfinite_generate",
                  "model.language_model.layers.1.mlp.down_proj.weight", 3, 10, NAN);
  auto engine = load(dir, WeightFormat::kBF16, WeightFormat::kBF16);
  ASSERT_NE(engine, nullptr);
  Request req;
  req.prompt = "Hello";
  req.sampling.max_new_tokens = 4;
  int tokens = 0;
  auto r =
      engine->new_session()->generate(req, [&](const GeneratedToken&) { return ++tokens > 0; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruptData) << r.status().to_string();
  EXPECT_NE(r.status().message().find("non-finite logits (NaN or infinity) for generated token 1"),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(tokens, 0);
  // The engine is still usable: another session fails the same way, without a crash.
  auto again = engine->new_session()->generate(req);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kCorruptData) << again.status().to_string();
}

// --- The command line ------------------------------------------------------------------------

TEST(QuantizeCli, BundledModelRunsAndInspectShowsTheBlock) {
  const fs::path out = test::scratch_dir("quantize_cli") / "q";
  const std::string model = std::string(IVL_SOURCE_DIR) + "/models/tiny-internvl3-qwen2";
  test::CliResult q =
      test::run_cli({"quantize", "-m", model, "-o", out.string(), "--format", "q4_0", "-t", "2"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.err.find("tensors"), std::string::npos) << q.err;  // progress on stderr
  test::CliResult r =
      test::run_cli({"run", "-m", out.string(), "-p", "Hi", "-n", "2", "--ignore-eos", "--stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  EXPECT_NE(r.err.find("llm q4_0"), std::string::npos) << r.err;
  test::CliResult i = test::run_cli({"inspect", "-m", out.string(), "--json"});
  ASSERT_EQ(i.exit_code, 0) << i.err;
  const json s = json::parse(i.out);
  EXPECT_EQ(s["quantization"]["llm"], "q4_0");
  EXPECT_EQ(s["quantization"]["vision"], "stored");
  test::CliResult text = test::run_cli({"inspect", "-m", out.string()});
  EXPECT_NE(text.out.find("quantized"), std::string::npos) << text.out;
}

TEST(QuantizeCli, RefusesANonEmptyOutputAndAQuantizedInput) {
  const fs::path dir = test::scratch_dir("quantize_cli_refuse");
  const std::string model = std::string(IVL_SOURCE_DIR) + "/models/tiny-internvl3-qwen2";
  fs::create_directories(dir / "busy");
  std::ofstream(dir / "busy" / "x") << "x";
  test::CliResult r =
      test::run_cli({"quantize", "-m", model, "-o", (dir / "busy").string(), "--format", "q8_0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not an empty directory"), std::string::npos) << r.err;

  r = test::run_cli({"quantize", "-m", model, "-o", (dir / "q").string(), "--format", "q8_0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_cli(
      {"quantize", "-m", (dir / "q").string(), "-o", (dir / "qq").string(), "--format", "q4_0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already quantized"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "qq"));
  // Nothing left behind beside the output (the temporary directory is renamed or removed).
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".")) << e.path();
  }
  r = test::run_cli({"quantize", "-m", model, "-o", (dir / "x").string(), "--format", "bf16"});
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace ivl
