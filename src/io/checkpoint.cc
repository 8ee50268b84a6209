#include "io/checkpoint.h"

#include <algorithm>
#include <set>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "io/json_util.h"

namespace ivl::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kIndexName = "model.safetensors.index.json";
constexpr std::string_view kSingleName = "model.safetensors";
constexpr std::string_view kExtension = ".safetensors";
constexpr size_t kMaxListed = 10;  // names listed in one error message

// "'a', 'b', 'c' and 7 more": error messages stay readable for a badly mismatched index.
std::string list_names(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < kMaxListed; ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  if (items.size() > kMaxListed)
    out += " and " + std::to_string(items.size() - kMaxListed) + " more";
  return out;
}

// Appends instead of "'" + s + "'", which trips a GCC 12 -Wrestrict false positive.
std::string in_quotes(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

// A shard name from the index must name a file directly inside the model directory; anything
// else (a path, "..") could make us map arbitrary files.
bool is_plain_file_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos;
}

bool exists_as_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);  // follows symlinks
}

// weight_map: tensor name -> shard file name, validated.
Result<std::map<std::string, std::string>> read_weight_map(const fs::path& index_path,
                                                           const SafetensorsLimits& limits) {
  const std::string path = index_path.string();
  IVL_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> mapped, MappedFile::open(path));
  if (mapped->size() > limits.max_header_bytes) {
    return Status::corrupt(path + ": " + std::to_string(mapped->size()) +
                           " bytes exceeds the limit of " +
                           std::to_string(limits.max_header_bytes) + " bytes for an index");
  }
  const std::string_view text(reinterpret_cast<const char*>(mapped->bytes().data()),
                              mapped->size());
  IVL_ASSIGN_OR_RETURN(json index, parse_json_strict(text, path));
  if (!index.is_object()) {
    return Status::corrupt(path + ": must be a JSON object, found " +
                           std::string(index.type_name()));
  }
  if (index.contains("metadata") && !index["metadata"].is_object()) {
    return Status::corrupt(path + ": \"metadata\" must be an object");
  }
  if (!index.contains("weight_map")) {
    return Status::corrupt(path + ": missing \"weight_map\"");
  }
  const json& weight_map = index["weight_map"];
  if (!weight_map.is_object()) {
    return Status::corrupt(path + ": \"weight_map\" must be an object, found " +
                           std::string(weight_map.type_name()));
  }
  std::map<std::string, std::string> out;
  for (const auto& [tensor, shard] : weight_map.items()) {
    if (!shard.is_string()) {
      return Status::corrupt(path + ": tensor " + in_quotes(tensor) +
                             ": shard must be a file name string, found " + shard.dump());
    }
    const auto& shard_name = shard.get_ref<const std::string&>();
    if (!is_plain_file_name(shard_name)) {
      return Status::corrupt(path + ": tensor " + in_quotes(tensor) + " maps to " +
                             in_quotes(shard_name) +
                             ", which is not a plain file name inside the model directory");
    }
    out.emplace(tensor, shard_name);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Checkpoint>> Checkpoint::open(const fs::path& model_dir,
                                                     const SafetensorsLimits& limits) {
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec)) {
    return Status::not_found("model directory '" + model_dir.string() +
                             "' does not exist or is not a directory");
  }
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->dir_ = model_dir;

  const fs::path index_path = model_dir / kIndexName;
  std::map<std::string, std::string> weight_map;
  if (fs::exists(index_path, ec)) {
    IVL_ASSIGN_OR_RETURN(weight_map, read_weight_map(index_path, limits));
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : weight_map) shards.insert(shard);
    std::vector<std::string> missing;
    for (const auto& shard : shards) {
      if (!exists_as_file(model_dir / shard)) missing.push_back(shard);
    }
    if (!missing.empty()) {
      return Status::not_found(index_path.string() + ": shard files missing from " +
                               model_dir.string() + ": " + list_names(missing));
    }
    ckpt->file_names_.assign(shards.begin(), shards.end());
    ckpt->sharded_ = true;
  } else if (exists_as_file(model_dir / kSingleName)) {
    ckpt->file_names_.emplace_back(kSingleName);
  } else {
    std::vector<std::string> candidates;
    for (fs::directory_iterator it(model_dir, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      if (p.extension() == kExtension && exists_as_file(p)) {
        candidates.push_back(p.filename().string());
      }
    }
    if (ec) {
      return Status::io_error("cannot list model directory '" + model_dir.string() +
                              "': " + ec.message());
    }
    std::sort(candidates.begin(), candidates.end());
    if (candidates.size() != 1) {
      std::string found =
          candidates.empty() ? "none" : "several without an index: " + list_names(candidates);
      return Status::not_found("no checkpoint in '" + model_dir.string() + "': looked for " +
                               std::string(kIndexName) + ", " + std::string(kSingleName) +
                               ", or a single *" + std::string(kExtension) + " file (found " +
                               found + ")");
    }
    ckpt->file_names_ = std::move(candidates);
  }

  // Open each file once and gather its tensors; a name in two files is ambiguous.
  for (size_t i = 0; i < ckpt->file_names_.size(); ++i) {
    const std::string& file_name = ckpt->file_names_[i];
    IVL_ASSIGN_OR_RETURN(auto file,
                         SafetensorsFile::open((model_dir / file_name).string(), limits));
    for (const auto& name : file->names()) {
      auto [it, inserted] = ckpt->tensors_.emplace(name, Entry{file->find(name), i});
      if (!inserted) {
        return Status::corrupt("tensor " + in_quotes(name) + " is stored in both " +
                               (model_dir / ckpt->file_names_[it->second.file_index]).string() +
                               " and " + (model_dir / file_name).string());
      }
    }
    for (const auto& [key, value] : file->metadata()) ckpt->metadata_.emplace(key, value);
    ckpt->total_bytes_ += file->total_bytes();
    ckpt->files_.push_back(std::move(file));
  }

  if (ckpt->sharded_) {
    // The index and the shards must agree exactly, or we would load a different model than
    // the one the index describes.
    std::vector<std::string> not_in_shard;
    for (const auto& [tensor, shard] : weight_map) {
      auto it = ckpt->tensors_.find(tensor);
      if (it == ckpt->tensors_.end() || ckpt->file_names_[it->second.file_index] != shard) {
        not_in_shard.push_back(in_quotes(tensor) + " (mapped to " + shard + ")");
      }
    }
    if (!not_in_shard.empty()) {
      return Status::corrupt(
          index_path.string() +
          ": tensors missing from the shard the index maps them to: " + list_names(not_in_shard));
    }
    std::vector<std::string> not_in_index;
    for (const auto& [tensor, entry] : ckpt->tensors_) {
      if (!weight_map.contains(tensor)) {
        not_in_index.push_back(in_quotes(tensor) + " (in " + ckpt->file_names_[entry.file_index] +
                               ")");
      }
    }
    if (!not_in_index.empty()) {
      return Status::corrupt(index_path.string() +
                             ": shard files hold tensors the index does not list (mismatched "
                             "index?): " +
                             list_names(not_in_index));
    }
  }

  ckpt->names_.reserve(ckpt->tensors_.size());
  for (const auto& [name, entry] : ckpt->tensors_) ckpt->names_.push_back(name);
  return ckpt;
}

const TensorView* Checkpoint::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second.view;
}

std::string_view Checkpoint::file_of(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? std::string_view() : file_names_[it->second.file_index];
}

const SafetensorsFile* Checkpoint::file(std::string_view file_name) const {
  for (size_t i = 0; i < file_names_.size(); ++i) {
    if (file_names_[i] == file_name) return files_[i].get();
  }
  return nullptr;
}

}  // namespace ivl::io
