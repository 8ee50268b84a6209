#include "io/safetensors.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

namespace ivl::io {
namespace {

using nlohmann::json;

constexpr std::string_view kMetadataKey = "__metadata__";
constexpr uint64_t kLengthFieldBytes = 8;

// A valid header nests at most: top object (0) -> tensor entry (1) -> shape / data_offsets
// array (2). Anything deeper is rejected while parsing, before it can cost memory.
constexpr int kMaxContainerDepth = 2;

// Thrown from the parser callback to abort parsing; caught in parse_header, never escapes.
struct HeaderRejected {
  std::string message;
};

Status file_error(const std::string& path, const std::string& message) {
  return Status::corrupt(path + ": " + message);
}

Status tensor_error(const std::string& path, const std::string& tensor,
                    const std::string& message) {
  return Status::corrupt(path + ": tensor '" + tensor + "': " + message);
}

std::string json_type_name(const json& v) {
  if (v.is_number_unsigned() || v.is_number_integer()) return "integer";
  return v.type_name();
}

// Parses the header text. Unlike plain json::parse, duplicate keys are an error (nlohmann
// would silently keep the last one, letting a crafted file hide a tensor), and nesting
// deeper than a header can have is rejected early.
Result<json> parse_header(std::string_view text, const std::string& path) {
  // nlohmann's lexer treats a NUL byte as the end of input, so "{...}\0<garbage>" would parse.
  // A literal NUL is never valid JSON; reject it so the whole header is checked.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return file_error(path,
                      "header is not valid JSON: NUL byte at header offset " + std::to_string(nul));
  }
  std::vector<std::set<std::string>> open_objects;  // keys seen so far, per open object
  std::string entry;                                // the top-level key being parsed
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth > kMaxContainerDepth) {
          throw HeaderRejected{"header nests deeper than a safetensors header can" +
                               (entry.empty() ? std::string() : " (in '" + entry + "')")};
        }
        if (event == json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (depth == 1) entry = key;
        if (!open_objects.back().insert(key).second) {
          throw HeaderRejected{depth == 1 ? "duplicate tensor name '" + key + "' in header"
                                          : "tensor '" + entry + "': duplicate key '" + key + "'"};
        }
        break;
      }
      case json::parse_event_t::array_end:
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const HeaderRejected& rejected) {
    return file_error(path, rejected.message);
  } catch (const json::exception& e) {
    return file_error(path, std::string("header is not valid JSON: ") + e.what());
  }
}

// A JSON value that must be a non-negative integer; `what` names it in errors.
Result<uint64_t> to_u64(const json& v, const std::string& what) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {  // nlohmann stores non-negative integers as unsigned
    return Status::corrupt(what + " is negative (" + v.dump() + ")");
  }
  return Status::corrupt(what + " must be a non-negative integer, found " + json_type_name(v) +
                         " " + v.dump());
}

struct ParsedEntry {
  TensorView view;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Validates one tensor entry against the data area. Errors are returned without the
// file/tensor prefix (the caller adds it).
Result<ParsedEntry> parse_entry(const json& entry, uint64_t data_size) {
  if (!entry.is_object()) {
    return Status::corrupt("entry must be an object, found " + json_type_name(entry));
  }
  for (const auto& [key, value] : entry.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      return Status::corrupt("unknown field '" + key +
                             "' (expected only dtype, shape, data_offsets)");
    }
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(field))
      return Status::corrupt(std::string("missing field '") + field + "'");
  }

  const json& dtype_json = entry["dtype"];
  if (!dtype_json.is_string()) {
    return Status::corrupt("dtype must be a string, found " + json_type_name(dtype_json));
  }
  const auto& dtype_str = dtype_json.get_ref<const std::string&>();
  std::optional<DType> dtype = parse_dtype(dtype_str);
  if (!dtype) {
    return Status::unsupported("unknown dtype '" + dtype_str +
                               "' (supported: " + std::string(supported_dtype_names()) + ")");
  }

  const json& shape_json = entry["shape"];
  if (!shape_json.is_array()) {
    return Status::corrupt("shape must be an array, found " + json_type_name(shape_json));
  }
  ParsedEntry out;
  out.view.dtype = *dtype;
  out.view.shape.reserve(shape_json.size());
  // The product of the non-zero dims must fit int64: then every partial product that
  // shape_numel() forms does too, whatever the order of the dims (a zero dim anywhere must
  // not hide an overflow that happens before it is reached).
  uint64_t nonzero_product = 1;
  bool has_zero_dim = false;
  constexpr auto kMaxInt64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  for (size_t i = 0; i < shape_json.size(); ++i) {
    IVL_ASSIGN_OR_RETURN(uint64_t dim, to_u64(shape_json[i], "shape[" + std::to_string(i) + "]"));
    if (dim > kMaxInt64) {
      return Status::corrupt("shape[" + std::to_string(i) + "] = " + std::to_string(dim) +
                             " is too large");
    }
    if (dim == 0) {
      has_zero_dim = true;
    } else if (__builtin_mul_overflow(nonzero_product, dim, &nonzero_product) ||
               nonzero_product > kMaxInt64) {
      return Status::corrupt("shape " + shape_json.dump() + " overflows a 64-bit element count");
    }
    out.view.shape.push_back(static_cast<int64_t>(dim));
  }
  const uint64_t numel = has_zero_dim ? 0 : nonzero_product;
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, uint64_t{dtype_size(*dtype)}, &nbytes) || nbytes > kMaxInt64) {
    return Status::corrupt("shape " + shape_json.dump() + " of " + dtype_str +
                           " overflows a 64-bit byte count");
  }

  const json& offsets_json = entry["data_offsets"];
  if (!offsets_json.is_array() || offsets_json.size() != 2) {
    return Status::corrupt("data_offsets must be an array [begin, end], found " +
                           offsets_json.dump());
  }
  IVL_ASSIGN_OR_RETURN(out.begin, to_u64(offsets_json[0], "data_offsets begin"));
  IVL_ASSIGN_OR_RETURN(out.end, to_u64(offsets_json[1], "data_offsets end"));
  const std::string offsets_str =
      "data_offsets [" + std::to_string(out.begin) + ", " + std::to_string(out.end) + "]";
  if (out.begin > out.end) return Status::corrupt(offsets_str + ": begin > end");
  if (out.end > data_size) {
    return Status::corrupt(offsets_str + " extend past the end of the data area (" +
                           std::to_string(data_size) + " bytes; file truncated?)");
  }
  if (out.end - out.begin != nbytes) {
    return Status::corrupt(dtype_str + " " + shape_to_string(out.view.shape) + " needs " +
                           std::to_string(nbytes) + " bytes but " + offsets_str + " span " +
                           std::to_string(out.end - out.begin));
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_metadata(const json& v) {
  if (!v.is_object()) {
    return Status::corrupt(std::string(kMetadataKey) + " must be an object, found " +
                           json_type_name(v));
  }
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string()) {
      return Status::corrupt(std::string(kMetadataKey) + " value for '" + key +
                             "' must be a string, found " + json_type_name(value));
    }
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

struct Extent {
  uint64_t begin;
  uint64_t end;
  const std::string* name;
};

// Tensors must not share bytes: a crafted file could otherwise alias weights.
Status check_no_overlap(std::vector<Extent> extents, const std::string& path) {
  std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // Sorted by begin and pairwise disjoint so far => ends are increasing too, so comparing
  // with the predecessor is enough.
  for (size_t i = 1; i < extents.size(); ++i) {
    const Extent& prev = extents[i - 1];
    const Extent& cur = extents[i];
    if (cur.begin < prev.end) {
      return tensor_error(path, *cur.name,
                          "data_offsets [" + std::to_string(cur.begin) + ", " +
                              std::to_string(cur.end) + "] overlap tensor '" + *prev.name + "' [" +
                              std::to_string(prev.begin) + ", " + std::to_string(prev.end) + "]");
    }
  }
  return Status::ok_status();
}

uint64_t read_u64_le(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<uint64_t>(p[i]);
  return v;
}

}  // namespace

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string& path,
                                                               const SafetensorsLimits& limits) {
  IVL_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> mapped, MappedFile::open(path));
  const std::span<const std::byte> bytes = mapped->bytes();
  const uint64_t file_size = bytes.size();
  if (file_size < kLengthFieldBytes) {
    return file_error(path, "file is " + std::to_string(file_size) +
                                " bytes, too short for the 8-byte header length of a "
                                "safetensors file");
  }
  const uint64_t header_size = read_u64_le(bytes.data());
  if (header_size > limits.max_header_bytes) {
    return file_error(path, "header length " + std::to_string(header_size) +
                                " exceeds the limit of " + std::to_string(limits.max_header_bytes) +
                                " bytes (not a safetensors file, or corrupt)");
  }
  if (header_size > file_size - kLengthFieldBytes) {
    return file_error(path, "header length " + std::to_string(header_size) +
                                " exceeds the file size (" + std::to_string(file_size) +
                                " bytes; truncated?)");
  }
  const std::string_view header_text(
      reinterpret_cast<const char*>(bytes.data()) + kLengthFieldBytes, header_size);
  IVL_ASSIGN_OR_RETURN(json header, parse_header(header_text, path));
  if (!header.is_object()) {
    return file_error(path, "header must be a JSON object, found " + json_type_name(header));
  }

  const uint64_t data_start = kLengthFieldBytes + header_size;
  const uint64_t data_size = file_size - data_start;
  const std::byte* data = bytes.data() + data_start;

  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  std::vector<Extent> extents;
  extents.reserve(header.size());
  for (const auto& [name, entry] : header.items()) {
    if (name == kMetadataKey) {
      auto metadata = parse_metadata(entry);
      if (!metadata.ok()) return metadata.status().with_context(path);
      file->metadata_ = std::move(metadata).value();
      continue;
    }
    auto parsed = parse_entry(entry, data_size);
    if (!parsed.ok()) return parsed.status().with_context(path + ": tensor '" + name + "'");
    parsed->view.data = data + parsed->begin;
    file->total_bytes_ += parsed->end - parsed->begin;
    auto [it, inserted] = file->tensors_.emplace(name, std::move(parsed->view));
    (void)inserted;  // the parser already rejected duplicate names
    if (parsed->end > parsed->begin) extents.push_back({parsed->begin, parsed->end, &it->first});
  }
  IVL_RETURN_IF_ERROR(check_no_overlap(std::move(extents), path));

  file->names_.reserve(file->tensors_.size());
  for (const auto& [name, view] : file->tensors_) file->names_.push_back(name);
  file->data_size_ = data_size;
  file->file_ = std::move(mapped);
  return file;
}

const TensorView* SafetensorsFile::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

}  // namespace ivl::io
