#include "io/safetensors_writer.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace ivl::io {
namespace {

uint64_t tensor_bytes(const TensorHeader& t) {
  return static_cast<uint64_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
}

}  // namespace

Status write_safetensors_streamed(const std::string& path, const std::vector<TensorHeader>& headers,
                                  const TensorBytesWriter& write,
                                  const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorHeader& t : headers) {
    const uint64_t n = tensor_bytes(t);
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::string tmp = path + ".tmp";
  Status status;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::io_error(tmp + ": cannot create");
    uint64_t n = text.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (size_t i = 0; i < headers.size() && status.ok() && out; ++i) {
      const std::streamoff before = out.tellp();
      status = write(i, out);
      const auto written = static_cast<uint64_t>(out.tellp() - before);
      if (status.ok() && out && written != tensor_bytes(headers[i])) {
        status = Status::internal(path + ": tensor '" + headers[i].name + "' got " +
                                  std::to_string(written) + " bytes, its header says " +
                                  std::to_string(tensor_bytes(headers[i])));
      }
    }
    out.flush();
    if (status.ok() && !out) status = Status::io_error(tmp + ": write failed (disk full?)");
  }
  if (!status.ok()) {
    std::remove(tmp.c_str());
    return status;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::io_error(path + ": cannot rename from " + tmp + ": " + ec.message());
  return Status();
}

Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  std::vector<TensorHeader> headers;
  headers.reserve(tensors.size());
  for (const TensorToWrite& t : tensors) {
    const uint64_t expected = static_cast<uint64_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
    if (t.data.size() != expected) {
      return Status::invalid_argument(path + ": tensor '" + t.name + "' has " +
                                      std::to_string(t.data.size()) + " bytes, its shape needs " +
                                      std::to_string(expected));
    }
    headers.push_back({t.name, t.dtype, t.shape});
  }
  return write_safetensors_streamed(
      path, headers,
      [&](size_t i, std::ostream& out) {
        out.write(reinterpret_cast<const char*>(tensors[i].data.data()),
                  static_cast<std::streamsize>(tensors[i].data.size()));
        return Status();
      },
      metadata);
}

}  // namespace ivl::io
