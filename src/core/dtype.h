// Element types of stored tensors (safetensors dtype strings) and their sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ivl {

enum class DType : uint8_t {
  kF64,
  kF32,
  kF16,
  kBF16,
  kI64,
  kI32,
  kI16,
  kI8,
  kU8,
  kU16,
  kU32,
  kU64,
  kBool,
  kF8E4M3,
  kF8E5M2,
};

// Bytes per element.
size_t dtype_size(DType t);

// The safetensors spelling ("BF16", "F32", "U8", ...).
std::string_view dtype_name(DType t);

// Parses a safetensors dtype string; nullopt for unknown strings.
std::optional<DType> parse_dtype(std::string_view s);

// Comma-separated list of every dtype parse_dtype accepts, for error messages.
std::string_view supported_dtype_names();

bool is_float_dtype(DType t);

}  // namespace ivl
