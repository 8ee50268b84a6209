#include "ivl/status.h"

#include <gtest/gtest.h>

namespace ivl {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return Status::invalid_argument("value must be positive, got " + std::to_string(v));
  return v;
}

Status use_twice(int v, int* out) {
  IVL_ASSIGN_OR_RETURN(int x, parse_positive(v));
  *out = 2 * x;
  return Status();
}

TEST(Status, OkAndError) {
  EXPECT_TRUE(Status().ok());
  Status s = Status::corrupt("bad header").with_context("model.safetensors");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kCorruptData);
  EXPECT_EQ(s.message(), "model.safetensors: bad header");
  EXPECT_EQ(s.to_string(), "corrupt data: model.safetensors: bad header");
}

TEST(Result, ValueAndPropagation) {
  int out = 0;
  EXPECT_TRUE(use_twice(4, &out).ok());
  EXPECT_EQ(out, 8);
  Status err = use_twice(-1, &out);
  EXPECT_EQ(err.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(err.message().find("-1"), std::string::npos);
}

TEST(Result, OkStatusWithoutValueBecomesInternalError) {
  Result<int> r{Status()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  Result<int> r{Status::not_found("x")};
  EXPECT_DEATH((void)r.value(), "value\\(\\) of a failed Result");
}

}  // namespace
}  // namespace ivl
