// `internvl mkmodel`: a checkpoint with random weights in the exact shapes and config of a
// released InternVL model (original layout), for benchmarking without downloading it.
// Everything is checked first, then written into a temporary directory beside DIR that is
// renamed to DIR at the end, so DIR either does not exist or holds a complete checkpoint.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "cli/commands.h"
#include "cli/publish_directory.h"
#include "cli/random_bf16.h"
#include "cli/release_shapes.h"
#include "cli/synthetic_checkpoint.h"
#include "io/safetensors_writer.h"
#include "tokenizer/tokenizer.h"

namespace ivl::cli {
namespace {

namespace fs = std::filesystem;

struct MkmodelOptions {
  std::string like;
  std::string out_dir;
  int64_t layers = 0;  // 0: all
  uint64_t seed = 0;
  std::string tokenizer_from = std::string(IVL_SOURCE_DIR) + "/models/tiny-internvl3-qwen2";
  int64_t shard_mb = 4500;  // below Hugging Face's default max_shard_size of 5 GB
};

// The files of the slow Qwen2Tokenizer form (and the other forms, if the source has them).
constexpr const char* kTokenizerFiles[] = {"tokenizer.json",
                                           "vocab.json",
                                           "merges.txt",
                                           "added_tokens.json",
                                           "special_tokens_map.json",
                                           "tokenizer_config.json",
                                           "tokenizer.model"};

double gigabytes(uint64_t bytes) {
  return static_cast<double>(bytes) / 1e9;
}

uint64_t tensor_bytes(const PlannedTensor& t) {
  return static_cast<uint64_t>(shape_numel(t.shape)) * 2;  // bf16
}

// Hugging Face's split: tensors in order, a new shard when the next one would overflow.
std::vector<std::vector<const PlannedTensor*>> split_shards(const std::vector<PlannedTensor>& all,
                                                            uint64_t max_bytes) {
  std::vector<std::vector<const PlannedTensor*>> shards(1);
  uint64_t size = 0;
  for (const PlannedTensor& t : all) {
    if (!shards.back().empty() && size + tensor_bytes(t) > max_bytes) {
      shards.emplace_back();
      size = 0;
    }
    shards.back().push_back(&t);
    size += tensor_bytes(t);
  }
  return shards;
}

std::string shard_name(size_t k, size_t n) {
  if (n == 1) return "model.safetensors";
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", k + 1, n);
  return buf;
}

Status write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) return Status::io_error(path.string() + ": write failed");
  return Status();
}

// Checks that need no writing: the release, layer count, tokenizer, output directory, disk.
Status check(const MkmodelOptions& o, const ReleaseShape* r, const std::vector<PlannedTensor>& t,
             uint64_t total) {
  if (r == nullptr) {
    return Status::invalid_argument("unknown release \"" + o.like +
                                    "\"; known: " + release_names());
  }
  const int64_t most = std::min(r->vit.layers, r->llm.layers);
  if (o.layers < 0 || o.layers > most) {
    return Status::invalid_argument("--layers must be between 1 and " + std::to_string(most) +
                                    " for " + r->name);
  }
  auto tokenizer = tok::load_tokenizer(o.tokenizer_from);
  if (!tokenizer.ok()) return tokenizer.status().with_context("--tokenizer-from");
  if ((*tokenizer)->vocab_size() > r->vocab) {
    return Status::invalid_argument("the tokenizer in " + o.tokenizer_from + " has " +
                                    std::to_string((*tokenizer)->vocab_size()) +
                                    " tokens, more than the " + std::to_string(r->vocab) +
                                    " embedding rows of " + r->name);
  }
  std::error_code ec;
  const fs::path out(o.out_dir);
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec))) {
    return Status::invalid_argument(o.out_dir +
                                    " already exists and is not an empty directory; "
                                    "give a new directory");
  }
  const fs::path parent = fs::absolute(out, ec).parent_path();
  fs::create_directories(parent, ec);
  if (ec) return Status::io_error(parent.string() + ": cannot create: " + ec.message());
  const fs::space_info space = fs::space(parent, ec);
  if (!ec && space.available < total + (64u << 20)) {
    return Status::resource_exhausted(
        parent.string() + " has " + std::to_string(gigabytes(space.available)) +
        " GB free; the checkpoint needs " + std::to_string(gigabytes(total)) + " GB");
  }
  if (t.empty()) return Status::internal("no tensors planned");
  return Status();
}

Status write_shard(const std::vector<const PlannedTensor*>& shard, const fs::path& path,
                   const SyntheticOptions& so, const RandomBf16& random) {
  std::vector<io::TensorToWrite> tensors;
  tensors.reserve(shard.size());
  for (const PlannedTensor* p : shard) {
    io::TensorToWrite t{.name = p->name, .dtype = DType::kBF16, .shape = p->shape, .data = {}};
    t.data.resize(tensor_bytes(*p));
    const size_t n = t.data.size() / 2;
    if (p->std > 0) {
      random.fill(t.data.data(), n, tensor_seed(so.seed, p->name));
    } else {
      fill_constant_bf16(t.data.data(), n, p->constant);
    }
    tensors.push_back(std::move(t));
  }
  return io::write_safetensors(path.string(), tensors, {{"format", "pt"}});
}

Status write_checkpoint(const MkmodelOptions& o, const ReleaseShape& r, const SyntheticOptions& so,
                        const std::vector<PlannedTensor>& planned, uint64_t total,
                        const fs::path& dir) {
  IVL_RETURN_IF_ERROR(write_text(dir / "config.json", make_config(r, so).dump(2) + "\n"));
  for (const char* name : kTokenizerFiles) {
    const fs::path src = fs::path(o.tokenizer_from) / name;
    if (!fs::exists(src)) continue;
    std::error_code ec;
    fs::copy_file(src, dir / name, ec);
    if (ec) return Status::io_error(src.string() + ": cannot copy: " + ec.message());
  }
  const auto shards = split_shards(planned, static_cast<uint64_t>(o.shard_mb) * 1000 * 1000);
  const RandomBf16 random(0.02f);
  nlohmann::json weight_map = nlohmann::json::object();  // sorted by name, as HF writes it
  size_t tensors_done = 0;
  uint64_t bytes_done = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t k = 0; k < shards.size(); ++k) {
    const std::string file = shard_name(k, shards.size());
    uint64_t shard_bytes = 0;
    for (const PlannedTensor* p : shards[k]) shard_bytes += tensor_bytes(*p);
    std::fprintf(stderr, "  %s: %zu tensors, %.2f GB ...", file.c_str(), shards[k].size(),
                 gigabytes(shard_bytes));
    std::fflush(stderr);
    IVL_RETURN_IF_ERROR(write_shard(shards[k], dir / file, so, random));
    for (const PlannedTensor* p : shards[k]) weight_map[p->name] = file;
    tensors_done += shards[k].size();
    bytes_done += shard_bytes;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, " done; %zu/%zu tensors, %.2f/%.2f GB written (%.1f s)\n", tensors_done,
                 planned.size(), gigabytes(bytes_done), gigabytes(total), s);
  }
  if (shards.size() > 1) {
    nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    IVL_RETURN_IF_ERROR(write_text(dir / "model.safetensors.index.json", index.dump(2) + "\n"));
  }
  return Status();
}

int run_mkmodel(const MkmodelOptions& o) {
  const ReleaseShape* r = find_release(o.like);
  SyntheticOptions so{.seed = o.seed};
  std::vector<PlannedTensor> planned;
  uint64_t total = 0;
  if (r != nullptr) {
    so.vit_layers = o.layers > 0 ? o.layers : r->vit.layers;
    so.llm_layers = o.layers > 0 ? o.layers : r->llm.layers;
    planned = plan_tensors(*r, so);
    for (const PlannedTensor& t : planned) total += tensor_bytes(t);
  }
  if (Status s = check(o, r, planned, total); !s.ok()) return report_error(s);
  if (r->llm.family == LlmFamily::kInternLM2) {
    std::fprintf(stderr,
                 "note: %s ships an InternLM2 tokenizer (92553 tokens); this copy uses the Qwen "
                 "tokenizer, so its embedding and head have %lld rows\n",
                 r->name, static_cast<long long>(r->vocab));
  }
  std::fprintf(stderr, "mkmodel: %s (random weights, seed %llu): %zu tensors, %.2f GB bf16\n",
               r->name, static_cast<unsigned long long>(o.seed), planned.size(), gigabytes(total));

  const fs::path out = fs::absolute(fs::path(o.out_dir));
  Status s = publish_directory(out, "mkmodel", [&](const fs::path& tmp) {
    return write_checkpoint(o, *r, so, planned, total, tmp);
  });
  if (!s.ok()) return report_error(s);
  std::fprintf(stderr, "wrote %s\n", out.string().c_str());
  return 0;
}

}  // namespace

void add_mkmodel_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<MkmodelOptions>();
  CLI::App* sub = app.add_subcommand(
      "mkmodel",
      "Write a checkpoint with RANDOM weights in the exact shapes and config of a released "
      "InternVL model (original InternVLChatModel layout, bf16, sharded like the release), for "
      "benchmarks only. Its answers are noise.");
  sub->add_option("--like", o->like, "Release to imitate: " + release_names())->required();
  sub->add_option("-o,--output", o->out_dir,
                  "New checkpoint directory (must not exist, or be empty)")
      ->required();
  sub->add_option("--layers", o->layers,
                  "Keep only the first N layers of both the vision encoder and the LLM (for "
                  "tests; default: all)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--seed", o->seed, "Random seed (default 0)");
  sub->add_option("--tokenizer-from", o->tokenizer_from,
                  "Directory whose tokenizer files are copied (default: the bundled tiny model, " +
                      o->tokenizer_from + ")")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--shard-mb", o->shard_mb,
                  "Largest safetensors shard in MB (default 4500); a smaller checkpoint is one "
                  "model.safetensors")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  sub->callback([o, exit_code] { *exit_code = run_mkmodel(*o); });
}

}  // namespace ivl::cli
