#include "core/dtype.h"

#include <array>
#include <utility>

namespace ivl {
namespace {

struct DTypeInfo {
  DType type;
  std::string_view name;
  size_t size;
  bool is_float;
};

constexpr std::array<DTypeInfo, 15> kDTypes = {{
    {DType::kF64, "F64", 8, true},
    {DType::kF32, "F32", 4, true},
    {DType::kF16, "F16", 2, true},
    {DType::kBF16, "BF16", 2, true},
    {DType::kI64, "I64", 8, false},
    {DType::kI32, "I32", 4, false},
    {DType::kI16, "I16", 2, false},
    {DType::kI8, "I8", 1, false},
    {DType::kU8, "U8", 1, false},
    {DType::kU16, "U16", 2, false},
    {DType::kU32, "U32", 4, false},
    {DType::kU64, "U64", 8, false},
    {DType::kBool, "BOOL", 1, false},
    {DType::kF8E4M3, "F8_E4M3", 1, true},
    {DType::kF8E5M2, "F8_E5M2", 1, true},
}};

const DTypeInfo& info(DType t) {
  return kDTypes[static_cast<size_t>(t)];
}

}  // namespace

size_t dtype_size(DType t) {
  return info(t).size;
}
std::string_view dtype_name(DType t) {
  return info(t).name;
}
bool is_float_dtype(DType t) {
  return info(t).is_float;
}

std::optional<DType> parse_dtype(std::string_view s) {
  for (const auto& d : kDTypes) {
    if (d.name == s) return d.type;
  }
  return std::nullopt;
}

std::string_view supported_dtype_names() {
  return "F64, F32, F16, BF16, I64, I32, I16, I8, U8, U16, U32, U64, BOOL, F8_E4M3, F8_E5M2";
}

}  // namespace ivl
