#include "core/dtype.h"

#include <gtest/gtest.h>

#include "core/sha256.h"
#include "core/tensor_view.h"

namespace ivl {
namespace {

TEST(DType, RoundTripsEverySafetensorsName) {
  for (std::string_view n : {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "U16",
                             "U32", "U64", "BOOL", "F8_E4M3", "F8_E5M2"}) {
    auto t = parse_dtype(n);
    ASSERT_TRUE(t.has_value()) << n;
    EXPECT_EQ(dtype_name(*t), n);
  }
  EXPECT_FALSE(parse_dtype("bf16").has_value());
  EXPECT_FALSE(parse_dtype("Q4_0").has_value());
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_EQ(dtype_size(DType::kF32), 4u);
  EXPECT_EQ(dtype_size(DType::kI64), 8u);
}

TEST(TensorView, SizesAndShapeText) {
  TensorView v{DType::kBF16, {3, 4}, nullptr};
  EXPECT_EQ(v.numel(), 12);
  EXPECT_EQ(v.nbytes(), 24u);
  EXPECT_EQ(shape_to_string(v.shape), "[3, 4]");
  EXPECT_EQ(shape_to_string({}), "[]");
}

// FIPS 180-4 test vectors.
TEST(Sha256, KnownVectors) {
  auto hex = [](std::string_view s) {
    return sha256_hex(std::as_bytes(std::span<const char>(s.data(), s.size())));
  };
  EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string million(1000000, 'a');
  EXPECT_EQ(hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace ivl
