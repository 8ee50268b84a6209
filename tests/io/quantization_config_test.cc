// The "internvl_cpp_quantization" block of config.json (written by `internvl quantize`).
#include <gtest/gtest.h>

#include "io/model_config.h"
#include "support/fixtures.h"

namespace ivl::io {
namespace {

nlohmann::json base_config() {
  return test::read_json_file(test::fixture("models/tiny-internvl3-qwen2/config.json"));
}

TEST(QuantizationConfig, AbsentByDefault) {
  auto c = parse_model_config(base_config(), "config.json");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_FALSE(c->quantization.has_value());
}

TEST(QuantizationConfig, ParsesTheBlock) {
  nlohmann::json j = base_config();
  j["internvl_cpp_quantization"] = {
      {"version", 1},   {"llm", "q4_0"},    {"vision", "stored"},      {"block", 32},
      {"scale", "f16"}, {"layout", "rows"}, {"source", "InternVL3-1B"}};
  auto c = parse_model_config(j, "config.json");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_TRUE(c->quantization.has_value());
  EXPECT_EQ(c->quantization->llm, QuantizedFormat::kQ4_0);
  EXPECT_EQ(c->quantization->vision, QuantizedFormat::kStored);
  EXPECT_EQ(c->quantization->source, "InternVL3-1B");
}

TEST(QuantizationConfig, RejectsWhatItCannotRead) {
  struct Case {
    nlohmann::json block;
    StatusCode code;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{{"version", 1}, {"llm", "q5_k"}, {"vision", "stored"}},
       StatusCode::kUnsupported,
       "internvl_cpp_quantization.llm \"q5_k\""},
      {{{"version", 2}, {"llm", "q8_0"}, {"vision", "stored"}},
       StatusCode::kUnsupported,
       "version 2"},
      {{{"version", 1}, {"llm", "q8_0"}, {"vision", "stored"}, {"block", 64}},
       StatusCode::kUnsupported,
       "block 64"},
      {{{"version", 1}, {"vision", "stored"}}, StatusCode::kInvalidArgument, "llm"},
      {"q8_0", StatusCode::kInvalidArgument, "internvl_cpp_quantization"},
  };
  for (const Case& c : cases) {
    nlohmann::json j = base_config();
    j["internvl_cpp_quantization"] = c.block;
    auto r = parse_model_config(j, "config.json");
    ASSERT_FALSE(r.ok()) << c.block.dump();
    EXPECT_EQ(r.status().code(), c.code) << r.status().to_string();
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace ivl::io
