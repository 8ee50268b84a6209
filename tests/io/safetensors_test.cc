#include "io/safetensors.h"

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

// ---- helpers -----------------------------------------------------------------------------

std::string le64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

fs::path write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// A safetensors file: length prefix, `header` verbatim, then `data_bytes` bytes of `fill`.
fs::path write_safetensors(const fs::path& path, const std::string& header, size_t data_bytes,
                           char fill = '\x01') {
  return write_bytes(path, le64(header.size()) + header + std::string(data_bytes, fill));
}

// Writes a crafted file named `file_name` into a fresh scratch dir and opens it.
Result<std::unique_ptr<SafetensorsFile>> open_crafted(const std::string& file_name,
                                                      const std::string& header, size_t data_bytes,
                                                      const SafetensorsLimits& limits = {}) {
  fs::path dir = test::scratch_dir("safetensors_" + file_name);
  return SafetensorsFile::open(write_safetensors(dir / file_name, header, data_bytes).string(),
                               limits);
}

void expect_error(const Status& status, StatusCode code,
                  std::initializer_list<std::string_view> needles) {
  EXPECT_EQ(status.code(), code) << status.to_string();
  for (std::string_view needle : needles) {
    EXPECT_NE(status.message().find(needle), std::string::npos)
        << "message lacks '" << needle << "': " << status.message();
  }
}

float bf16_to_float(uint16_t bits) {
  uint32_t wide = uint32_t{bits} << 16;
  float f = 0;
  std::memcpy(&f, &wide, sizeof f);
  return f;
}

// Reads element `i` of a BF16 view. memcpy: views may be misaligned (see safetensors.h).
float bf16_at(const TensorView& v, size_t i) {
  uint16_t bits = 0;
  std::memcpy(&bits, v.data + 2 * i, 2);
  return bf16_to_float(bits);
}

// Independent decoding: the header parsed here with nlohmann, the bytes read with ifstream.
struct RawHeader {
  uint64_t data_start = 0;
  json header;
};

RawHeader read_raw_header(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char len[8] = {};
  in.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  return {8 + n, json::parse(text)};
}

float bf16_from_file(const fs::path& path, uint64_t offset) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  unsigned char b[2] = {};
  in.read(reinterpret_cast<char*>(b), 2);
  return bf16_to_float(static_cast<uint16_t>(b[0] | (b[1] << 8)));
}

std::vector<fs::path> safetensors_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".safetensors") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool points_into(const SafetensorsFile& f, const TensorView& v) {
  const std::byte* begin = f.mapped_bytes().data();
  const std::byte* end = begin + f.mapped_bytes().size();
  return v.data >= begin && v.data + v.nbytes() <= end;
}

// ---- fixture files -----------------------------------------------------------------------

TEST(SafetensorsFixtures, EveryFileMatchesAnIndependentHeaderParse) {
  size_t files_checked = 0;
  for (const std::string& model : test::fixture_model_names()) {
    for (const fs::path& path : safetensors_files(test::fixture("models/" + model))) {
      SCOPED_TRACE(path.string());
      auto opened = SafetensorsFile::open(path.string());
      ASSERT_TRUE(opened.ok()) << opened.status().to_string();
      const SafetensorsFile& f = **opened;
      RawHeader raw = read_raw_header(path);

      size_t expected_count = raw.header.size() - (raw.header.contains("__metadata__") ? 1 : 0);
      EXPECT_EQ(f.tensor_count(), expected_count);
      EXPECT_EQ(f.names().size(), expected_count);
      EXPECT_TRUE(std::is_sorted(f.names().begin(), f.names().end()));
      EXPECT_EQ(f.path(), path.string());
      EXPECT_EQ(f.metadata().at("format"), "pt");
      EXPECT_EQ(f.unused_data_bytes(), 0u);  // the reference writer packs tensors
      EXPECT_EQ(f.total_bytes(), f.mapped_bytes().size() - raw.data_start);

      for (const auto& [name, entry] : raw.header.items()) {
        if (name == "__metadata__") continue;
        const TensorView* v = f.find(name);
        ASSERT_NE(v, nullptr) << name;
        EXPECT_EQ(dtype_name(v->dtype), entry["dtype"].get<std::string>()) << name;
        EXPECT_EQ(v->shape, entry["shape"].get<Shape>()) << name;
        uint64_t begin = entry["data_offsets"][0].get<uint64_t>();
        uint64_t end = entry["data_offsets"][1].get<uint64_t>();
        EXPECT_EQ(v->data, f.mapped_bytes().data() + raw.data_start + begin) << name;
        EXPECT_EQ(v->nbytes(), end - begin) << name;
      }
      EXPECT_EQ(f.find("no.such.tensor"), nullptr);
      ++files_checked;
    }
  }
  EXPECT_EQ(files_checked, 5u);  // 2 shards + 3 single files
}

TEST(SafetensorsFixtures, KnownTensorsHaveExpectedDtypeAndShape) {
  fs::path dir = test::fixture("models/tiny-internvl3-qwen2");
  auto shard1 = SafetensorsFile::open((dir / "model-00001-of-00002.safetensors").string());
  ASSERT_TRUE(shard1.ok()) << shard1.status().to_string();
  const TensorView* embed = (*shard1)->find("language_model.model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->dtype, DType::kBF16);
  EXPECT_EQ(embed->shape, (Shape{151674, 64}));
  EXPECT_EQ(embed->nbytes(), 151674u * 64u * 2u);
  const TensorView* mlp = (*shard1)->find("mlp1.1.weight");
  ASSERT_NE(mlp, nullptr);
  EXPECT_EQ(mlp->shape, (Shape{64, 256}));
  EXPECT_EQ((*shard1)->tensor_count(), 32u);

  auto shard2 = SafetensorsFile::open((dir / "model-00002-of-00002.safetensors").string());
  ASSERT_TRUE(shard2.ok()) << shard2.status().to_string();
  const TensorView* patch = (*shard2)->find("vision_model.embeddings.patch_embedding.weight");
  ASSERT_NE(patch, nullptr);
  EXPECT_EQ(patch->dtype, DType::kBF16);
  EXPECT_EQ(patch->shape, (Shape{64, 3, 14, 14}));

  auto qwen3 = SafetensorsFile::open(
      test::fixture("models/tiny-internvl35-qwen3-v/model.safetensors").string());
  ASSERT_TRUE(qwen3.ok()) << qwen3.status().to_string();
  EXPECT_EQ((*qwen3)->tensor_count(), 61u);
  const TensorView* lm_head = (*qwen3)->find("language_model.lm_head.weight");
  ASSERT_NE(lm_head, nullptr);
  EXPECT_EQ(lm_head->shape, (Shape{151936, 48}));
  const TensorView* pos = (*qwen3)->find("vision_model.embeddings.position_embedding");
  ASSERT_NE(pos, nullptr);
  EXPECT_EQ(pos->shape, (Shape{1, 1025, 32}));
}

TEST(SafetensorsFixtures, Bf16ValuesThroughTheViewMatchTheFileBytes) {
  fs::path path = test::fixture("models/tiny-internvl3-qwen2/model-00001-of-00002.safetensors");
  const std::string name = "language_model.model.embed_tokens.weight";
  auto f = SafetensorsFile::open(path.string());
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  const TensorView* v = (*f)->find(name);
  ASSERT_NE(v, nullptr);

  RawHeader raw = read_raw_header(path);
  uint64_t begin = raw.header[name]["data_offsets"][0].get<uint64_t>();
  const size_t n = static_cast<size_t>(v->numel());
  bool any_nonzero = false;
  for (size_t i : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, n / 2, size_t{123457}, n - 1}) {
    float expected = bf16_from_file(path, raw.data_start + begin + 2 * i);
    EXPECT_EQ(bf16_at(*v, i), expected) << "element " << i;
    any_nonzero = any_nonzero || expected != 0.0f;
  }
  EXPECT_TRUE(any_nonzero);  // random weights: an all-zero sample would mean wrong bytes
}

TEST(SafetensorsFixtures, ViewsPointIntoTheMappingWithoutCopying) {
  auto f = SafetensorsFile::open(
      test::fixture("models/tiny-internvl3-qwen2-hf/model.safetensors").string());
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  for (const std::string& name : (*f)->names()) {
    const TensorView* v = (*f)->find(name);
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(points_into(**f, *v)) << name;
  }
  // find() hands out the same object each time: no per-call copies either.
  EXPECT_EQ((*f)->find("lm_head.weight"), nullptr);  // tied embeddings: no lm_head here
  const std::string embed = "model.language_model.embed_tokens.weight";
  EXPECT_EQ((*f)->find(embed), (*f)->find(embed));
}

// ---- valid edge cases --------------------------------------------------------------------

TEST(SafetensorsValid, PaddedHeaderMisalignedDataGapsAndEmptyTensors) {
  // Header of odd length (padded with spaces) so the data area starts at an odd address; a
  // 2-byte gap between tensors; a zero-size tensor; a scalar.
  std::string header = R"({"__metadata__":{"format":"pt","note":"x"},)"
                       R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("s":{"dtype":"BF16","shape":[],"data_offsets":[10,12]},)"
                       R"("e":{"dtype":"F32","shape":[0,3],"data_offsets":[12,12]}})";
  header += std::string(header.size() % 2 == 0 ? 5 : 4, ' ');
  ASSERT_EQ(header.size() % 2, 1u);
  std::string data(12, '\0');
  const float w[2] = {1.5f, -2.25f};
  std::memcpy(data.data(), w, 8);
  data[10] = '\x80';  // bf16 0x3f80 = 1.0
  data[11] = '\x3f';
  fs::path path = write_bytes(test::scratch_dir("safetensors_valid") / "edge.safetensors",
                              le64(header.size()) + header + data);

  auto opened = SafetensorsFile::open(path.string());
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  const SafetensorsFile& f = **opened;
  EXPECT_EQ(f.names(), (std::vector<std::string>{"e", "s", "w"}));
  EXPECT_EQ(f.metadata().at("note"), "x");
  EXPECT_EQ(f.total_bytes(), 10u);
  EXPECT_EQ(f.unused_data_bytes(), 2u);

  const TensorView* wv = f.find("w");
  ASSERT_NE(wv, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(wv->data) % 2, 1u);  // misaligned on purpose
  float got[2] = {};
  std::memcpy(got, wv->data, 8);
  EXPECT_EQ(got[0], 1.5f);
  EXPECT_EQ(got[1], -2.25f);

  const TensorView* sv = f.find("s");
  ASSERT_NE(sv, nullptr);
  EXPECT_TRUE(sv->shape.empty());
  EXPECT_EQ(bf16_at(*sv, 0), 1.0f);

  const TensorView* ev = f.find("e");
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->nbytes(), 0u);
}

TEST(SafetensorsValid, EmptyHeaderObjectHasNoTensors) {
  auto f = open_crafted("empty_header.safetensors", "{}", 0);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ((*f)->tensor_count(), 0u);
  EXPECT_TRUE((*f)->metadata().empty());
}

// ---- malformed files ---------------------------------------------------------------------

constexpr auto kCorrupt = StatusCode::kCorruptData;

TEST(SafetensorsMalformed, MissingFileIsNotFound) {
  fs::path dir = test::scratch_dir("safetensors_missing");
  auto f = SafetensorsFile::open((dir / "absent.safetensors").string());
  expect_error(f.status(), StatusCode::kNotFound, {"absent.safetensors"});
}

TEST(SafetensorsMalformed, EmptyFile) {
  fs::path dir = test::scratch_dir("safetensors_empty");
  auto f = SafetensorsFile::open(write_bytes(dir / "empty.safetensors", "").string());
  expect_error(f.status(), kCorrupt, {"empty.safetensors", "0 bytes"});
}

TEST(SafetensorsMalformed, SevenByteFile) {
  fs::path dir = test::scratch_dir("safetensors_seven");
  auto f = SafetensorsFile::open(write_bytes(dir / "seven.safetensors", "1234567").string());
  expect_error(f.status(), kCorrupt, {"seven.safetensors", "7 bytes"});
}

TEST(SafetensorsMalformed, HeaderLengthBeyondFile) {
  fs::path dir = test::scratch_dir("safetensors_beyond");
  auto f =
      SafetensorsFile::open(write_bytes(dir / "beyond.safetensors", le64(100) + "{}").string());
  expect_error(f.status(), kCorrupt, {"beyond.safetensors", "header length 100"});
}

TEST(SafetensorsMalformed, HeaderLengthAboveCap) {
  fs::path dir = test::scratch_dir("safetensors_cap");
  // Default cap (100 MiB) with an absurd length field, as in a non-safetensors file...
  auto huge = SafetensorsFile::open(
      write_bytes(dir / "huge.safetensors", le64(uint64_t{1} << 40) + "{}").string());
  expect_error(huge.status(), kCorrupt, {"huge.safetensors", "exceeds the limit"});
  // ...and an explicit small cap against an otherwise valid file.
  SafetensorsLimits limits;
  limits.max_header_bytes = 16;
  auto capped = open_crafted("capped.safetensors",
                             R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1, limits);
  expect_error(capped.status(), kCorrupt, {"capped.safetensors", "exceeds the limit of 16"});
}

TEST(SafetensorsMalformed, InvalidJson) {
  auto f = open_crafted("badjson.safetensors", R"({"a": {"dtype": "F32", )", 0);
  expect_error(f.status(), kCorrupt, {"badjson.safetensors", "not valid JSON"});
  // A number nlohmann cannot represent throws out_of_range, not parse_error: still wrapped.
  auto huge = open_crafted("hugenum.safetensors",
                           R"({"a":{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}})", 4);
  expect_error(huge.status(), kCorrupt, {"hugenum.safetensors", "not valid JSON"});
}

TEST(SafetensorsMalformed, TrailingGarbageAfterJson) {
  auto text = open_crafted("trailing.safetensors", "{}  xx", 0);
  expect_error(text.status(), kCorrupt, {"trailing.safetensors", "not valid JSON"});
  // nlohmann alone would stop at the NUL and accept this.
  auto nul = open_crafted("trailing_nul.safetensors", std::string("{}") + '\0' + "xx", 0);
  expect_error(nul.status(), kCorrupt, {"trailing_nul.safetensors", "not valid JSON", "NUL"});
}

TEST(SafetensorsMalformed, ArrayInsteadOfObject) {
  auto f = open_crafted("array.safetensors", "[1, 2]", 0);
  expect_error(f.status(), kCorrupt, {"array.safetensors", "object", "array"});
}

TEST(SafetensorsMalformed, EntryNotAnObject) {
  auto f = open_crafted("entry.safetensors", R"({"t": [1, 2]})", 0);
  expect_error(f.status(), kCorrupt, {"entry.safetensors", "'t'", "object"});
}

TEST(SafetensorsMalformed, MissingDtype) {
  auto f = open_crafted("nodtype.safetensors", R"({"t":{"shape":[1],"data_offsets":[0,4]}})", 4);
  expect_error(f.status(), kCorrupt, {"nodtype.safetensors", "'t'", "dtype"});
}

TEST(SafetensorsMalformed, MissingShape) {
  auto f = open_crafted("noshape.safetensors", R"({"t":{"dtype":"F32","data_offsets":[0,4]}})", 4);
  expect_error(f.status(), kCorrupt, {"noshape.safetensors", "'t'", "shape"});
}

TEST(SafetensorsMalformed, MissingDataOffsets) {
  auto f = open_crafted("nooffsets.safetensors", R"({"t":{"dtype":"F32","shape":[1]}})", 4);
  expect_error(f.status(), kCorrupt, {"nooffsets.safetensors", "'t'", "data_offsets"});
}

TEST(SafetensorsMalformed, UnknownExtraField) {
  auto f = open_crafted("extra.safetensors",
                        R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"foo":1}})", 4);
  expect_error(f.status(), kCorrupt, {"extra.safetensors", "'t'", "unknown field 'foo'"});
}

TEST(SafetensorsMalformed, WrongFieldTypes) {
  auto dtype = open_crafted("dtype_type.safetensors",
                            R"({"t":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", 4);
  expect_error(dtype.status(), kCorrupt, {"dtype_type.safetensors", "'t'", "dtype"});
  auto shape = open_crafted("shape_type.safetensors",
                            R"({"t":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", 4);
  expect_error(shape.status(), kCorrupt, {"shape_type.safetensors", "'t'", "shape"});
  auto dim = open_crafted("dim_type.safetensors",
                          R"({"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4);
  expect_error(dim.status(), kCorrupt, {"dim_type.safetensors", "'t'", "shape[0]"});
  auto offsets = open_crafted("offsets_type.safetensors",
                              R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 8);
  expect_error(offsets.status(), kCorrupt, {"offsets_type.safetensors", "'t'", "data_offsets"});
  auto meta = open_crafted("meta_type.safetensors", R"({"__metadata__":{"format":1}})", 0);
  expect_error(meta.status(), kCorrupt, {"meta_type.safetensors", "__metadata__", "format"});
}

TEST(SafetensorsMalformed, UnknownDtype) {
  auto f = open_crafted("dtype.safetensors",
                        R"({"t":{"dtype":"Q4_K","shape":[1],"data_offsets":[0,4]}})", 4);
  expect_error(f.status(), StatusCode::kUnsupported,
               {"dtype.safetensors", "'t'", "Q4_K", supported_dtype_names()});
}

TEST(SafetensorsMalformed, ShapeTimesDtypeNotByteLength) {
  auto f = open_crafted("size.safetensors",
                        R"({"t":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,10]}})", 10);
  expect_error(f.status(), kCorrupt, {"size.safetensors", "'t'", "12 bytes", "span 10"});
}

TEST(SafetensorsMalformed, OffsetsPastTheEnd) {
  auto f = open_crafted("past.safetensors",
                        R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 12);
  expect_error(f.status(), kCorrupt, {"past.safetensors", "'t'", "past the end"});
}

TEST(SafetensorsMalformed, BeginAfterEnd) {
  auto f = open_crafted("order.safetensors",
                        R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8);
  expect_error(f.status(), kCorrupt, {"order.safetensors", "'t'", "begin > end"});
}

TEST(SafetensorsMalformed, OverlappingTensors) {
  auto f = open_crafted("overlap.safetensors",
                        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        12);
  expect_error(f.status(), kCorrupt, {"overlap.safetensors", "'a'", "'b'", "overlap"});
}

TEST(SafetensorsMalformed, DuplicateTensorName) {
  auto f = open_crafted("dup.safetensors",
                        R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                        8);
  expect_error(f.status(), kCorrupt, {"dup.safetensors", "duplicate tensor name 'a'"});
}

TEST(SafetensorsMalformed, DuplicateFieldInEntry) {
  auto f =
      open_crafted("dupfield.safetensors",
                   R"({"a":{"dtype":"F32","dtype":"U8","shape":[1],"data_offsets":[0,4]}})", 4);
  expect_error(f.status(), kCorrupt, {"dupfield.safetensors", "'a'", "duplicate key 'dtype'"});
}

TEST(SafetensorsMalformed, NegativeDim) {
  auto f = open_crafted("negative.safetensors",
                        R"({"t":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}})", 16);
  expect_error(f.status(), kCorrupt, {"negative.safetensors", "'t'", "negative"});
}

TEST(SafetensorsMalformed, NegativeOffset) {
  auto f = open_crafted("negoffset.safetensors",
                        R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4);
  expect_error(f.status(), kCorrupt, {"negoffset.safetensors", "'t'", "negative"});
}

TEST(SafetensorsMalformed, OverflowingShape) {
  // 2^32 * 2^32 elements overflows 64 bits; so does 2^62 F32 elements' byte count.
  auto numel = open_crafted(
      "overflow.safetensors",
      R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4);
  expect_error(numel.status(), kCorrupt, {"overflow.safetensors", "'t'", "overflow"});
  auto bytes = open_crafted(
      "overflow_bytes.safetensors",
      R"({"t":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}})", 4);
  expect_error(bytes.status(), kCorrupt, {"overflow_bytes.safetensors", "'t'", "overflow"});
  // A zero dim must not hide an overflow of the dims before it (shape_numel multiplies in
  // order).
  auto hidden = open_crafted(
      "overflow_zero.safetensors",
      R"({"t":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})", 0);
  expect_error(hidden.status(), kCorrupt, {"overflow_zero.safetensors", "'t'", "overflow"});
  auto absurd = open_crafted(
      "absurd_dim.safetensors",
      R"({"t":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,1]}})", 1);
  expect_error(absurd.status(), kCorrupt, {"absurd_dim.safetensors", "'t'", "too large"});
}

TEST(SafetensorsMalformed, NestingDeeperThanAHeaderCan) {
  auto f = open_crafted("deep.safetensors",
                        R"({"t":{"dtype":"F32","shape":[[[1]]],"data_offsets":[0,4]}})", 4);
  expect_error(f.status(), kCorrupt, {"deep.safetensors", "'t'", "deeper"});
}

}  // namespace
}  // namespace ivl::io
