// `internvl quantize`: writes a checkpoint whose linear-layer matrices are stored as q8_0 / q4_0
// rows (docs/architecture.md "Quantized checkpoints"), which the engine then uses in place,
// memory-mapped, with no conversion at load.
//
// The output keeps the input's layout, tensor names and sharding (the same safetensors file
// names, the index rewritten); its config.json gains the "internvl_cpp_quantization" block and
// the other non-weight files are copied. Each tensor is streamed from the input mapping to the
// output file in blocks of rows (peak memory: one block), and everything is written into a
// temporary directory beside OUT that is renamed to OUT at the end.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cli/commands.h"
#include "cli/publish_directory.h"
#include "core/check.h"
#include "core/mapped_file.h"
#include "core/thread_pool.h"
#include "io/json_util.h"
#include "io/model_config.h"
#include "io/safetensors_writer.h"
#include "model/model_description.h"
#include "ops/packed_formats.h"

namespace ivl::cli {
namespace {

namespace fs = std::filesystem;

struct QuantizeOptions {
  std::string model_dir;
  std::string out_dir;
  std::string format;
  std::string vision_format = "stored";
  int threads = 0;
};

// How one source tensor is written.
struct TensorPlan {
  ops::MatrixLayout layout = ops::MatrixLayout::kRows;  // kRows: copied as stored
  int64_t in = 0;
  bool vision = false;  // a matrix of the vision tower or projector (else of the LLM)
};

// A tensor of the output: a source tensor (quantized or copied), or the added lm_head.
struct OutTensor {
  std::string name;
  const TensorView* source = nullptr;
  TensorPlan plan;
};

constexpr const char* kIndexFile = "model.safetensors.index.json";

// Files of a checkpoint directory that hold weights: not copied.
bool is_weight_file(const fs::path& p) {
  static const char* kExts[] = {".safetensors", ".bin", ".pt",      ".pth", ".ckpt",
                                ".gguf",        ".h5",  ".msgpack", ".tmp"};
  const std::string ext = p.extension().string();
  for (const char* e : kExts) {
    if (ext == e) return true;
  }
  return p.filename() == kIndexFile || p.filename().string().ends_with(".index.json");
}

double gigabytes(uint64_t bytes) {
  return static_cast<double>(bytes) / 1e9;
}

uint64_t out_bytes(const OutTensor& t) {
  if (t.plan.layout == ops::MatrixLayout::kRows) return t.source->nbytes();
  return static_cast<uint64_t>(t.source->shape[0]) * ops::quant_row_bytes(t.plan.layout, t.plan.in);
}

Shape out_shape(const OutTensor& t) {
  if (t.plan.layout == ops::MatrixLayout::kRows) return t.source->shape;
  return {t.source->shape[0], static_cast<int64_t>(ops::quant_row_bytes(t.plan.layout, t.plan.in))};
}

class Quantizer {
 public:
  Quantizer(const QuantizeOptions& o, model::ModelDescription d, io::QuantizationConfig q)
      : d_(std::move(d)), q_(std::move(q)), pool_(o.threads) {}

  // Which tensors are quantized, and the added head; kInvalidArgument if the input cannot be.
  Status plan() {
    const ops::MatrixLayout llm = model::matrix_layout(q_.llm),
                            vision = model::matrix_layout(q_.vision);
    for (const auto& [canonical, ref] : d_.weights.all()) {
      const model::MatrixPart part = model::matrix_part(canonical);
      const ops::MatrixLayout asked = part == model::MatrixPart::kLlm ? llm
                                      : part == model::MatrixPart::kVision
                                          ? vision
                                          : ops::MatrixLayout::kRows;
      if (asked == ops::MatrixLayout::kRows) continue;
      IVL_CHECK(ref.shape.size() == 2 && ref.source.shape.size() == 2);
      const int64_t in = ref.shape[1];
      const ops::MatrixLayout layout = ops::quantized_layout_for(asked, in);
      if (layout == ops::MatrixLayout::kRows) continue;  // K does not fit: stays as stored
      plans_[ref.source_name] = {layout, in, part == model::MatrixPart::kVision};
    }
    if (llm != ops::MatrixLayout::kRows && d_.tied_head()) {
      // The embedding is looked up, so it stays as stored; the head gets its own quantized copy
      // under the name the backbone's rule looks for first (its presence unties the head).
      const model::WeightRef* embed = d_.weights.find("llm.embed.weight");
      IVL_CHECK(embed != nullptr);
      const int64_t in = embed->shape[1];
      const ops::MatrixLayout layout = ops::quantized_layout_for(llm, in);
      if (layout != ops::MatrixLayout::kRows) {
        for (const model::WeightRule& r :
             model::model_weight_rules(d_.config, *d_.backbone, d_.llm)) {
          if (r.canonical == "llm.head.weight") head_name_ = r.sources.at(0);
        }
        IVL_CHECK(!head_name_.empty());
        if (d_.checkpoint->find(head_name_) != nullptr) {
          return Status::invalid_argument(d_.dir.string() + ": " + head_name_ +
                                          " exists but is not used as the output head");
        }
        head_source_ = embed;
        head_plan_ = {layout, in};
      }
    }
    return Status();
  }

  // The output tensors of one input file, in the input's data order.
  std::vector<OutTensor> file_tensors(const std::string& file) const {
    const io::SafetensorsFile* f = d_.checkpoint->file(file);
    std::vector<OutTensor> out;
    for (const std::string& name : f->names()) {
      OutTensor t{.name = name, .source = f->find(name), .plan = {}};
      if (auto it = plans_.find(name); it != plans_.end()) t.plan = it->second;
      out.push_back(std::move(t));
    }
    std::sort(out.begin(), out.end(), [](const OutTensor& a, const OutTensor& b) {
      return a.source->data < b.source->data;
    });
    if (head_source_ != nullptr && d_.checkpoint->file_of(head_source_->source_name) == file) {
      out.push_back({.name = head_name_,
                     .source = d_.checkpoint->find(head_source_->source_name),
                     .plan = head_plan_});
    }
    return out;
  }

  uint64_t total_out_bytes() const {
    uint64_t n = 0;
    for (const std::string& f : d_.checkpoint->files()) {
      for (const OutTensor& t : file_tensors(f)) n += out_bytes(t);
    }
    return n;
  }

  Status write(const fs::path& dir) {
    IVL_RETURN_IF_ERROR(copy_side_files(dir));
    IVL_RETURN_IF_ERROR(write_config(dir));
    total_in_ = d_.checkpoint->total_bytes();
    if (head_source_ != nullptr) total_in_ += head_source_->source.nbytes();
    start_ = std::chrono::steady_clock::now();
    nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
    uint64_t total_out = 0;
    for (const std::string& file : d_.checkpoint->files()) {
      const std::vector<OutTensor> tensors = file_tensors(file);
      std::vector<io::TensorHeader> headers;
      uint64_t file_out = 0;
      for (const OutTensor& t : tensors) {
        headers.push_back({t.name,
                           t.plan.layout == ops::MatrixLayout::kRows ? t.source->dtype : DType::kU8,
                           out_shape(t)});
        file_out += out_bytes(t);
        weight_map[t.name] = file;
      }
      IVL_RETURN_IF_ERROR(io::write_safetensors_streamed(
          (dir / file).string(), headers,
          [&](size_t i, std::ostream& out) { return write_tensor(tensors[i], out); },
          d_.checkpoint->file(file)->metadata()));
      total_out += file_out;
      std::fprintf(stderr, "  %s: %zu tensors, %.3f GB (%.1f s)\n", file.c_str(), tensors.size(),
                   gigabytes(file_out), seconds());
    }
    if (d_.checkpoint->sharded()) IVL_RETURN_IF_ERROR(write_index(dir, weight_map, total_out));
    return Status();
  }

 private:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  void progress(uint64_t bytes_in) {
    done_in_ += bytes_in;
    ++done_tensors_;
    const uint64_t step = std::max<uint64_t>(total_in_ / 10, 1);
    if (done_in_ / step > reported_ / step) {
      std::fprintf(stderr, "  %3.0f%%: %zu tensors, %.2f of %.2f GB read (%.1f s)\n",
                   100.0 * static_cast<double>(done_in_) / static_cast<double>(total_in_),
                   done_tensors_, gigabytes(done_in_), gigabytes(total_in_), seconds());
      reported_ = done_in_;
    }
  }

  Status write_tensor(const OutTensor& t, std::ostream& out) {
    const TensorView& src = *t.source;
    const std::span<const std::byte> bytes = src.bytes();
    if (t.plan.layout == ops::MatrixLayout::kRows) {
      constexpr size_t kChunk = size_t{64} << 20;
      for (size_t off = 0; off < bytes.size(); off += kChunk) {
        const size_t n = std::min(kChunk, bytes.size() - off);
        out.write(reinterpret_cast<const char*>(bytes.data() + off),
                  static_cast<std::streamsize>(n));
        release_resident_pages(bytes.subspan(off, n));
      }
    } else {
      const int64_t rows = src.shape[0], in = t.plan.in;
      const size_t src_row = static_cast<size_t>(in) * dtype_size(src.dtype);
      const size_t dst_row = ops::quant_row_bytes(t.plan.layout, in);
      // Blocks of ~16 MiB of source rows, quantized in parallel.
      const int64_t block =
          std::max<int64_t>(1, static_cast<int64_t>((size_t{16} << 20) / src_row));
      buffer_.resize(static_cast<size_t>(std::min(block, rows)) * dst_row);
      for (int64_t r0 = 0; r0 < rows; r0 += block) {
        const int64_t n = std::min(block, rows - r0);
        ops::FirstUnfitRow unfit;  // rows of this block
        pool_.parallel_for(n, [&](int64_t a, int64_t b) {
          std::vector<float> scratch(static_cast<size_t>(in));
          const ops::UnfitRow u = ops::quantize_rows(
              src.data + static_cast<size_t>(r0 + a) * src_row, src.dtype, b - a, in, t.plan.layout,
              buffer_.data() + static_cast<size_t>(a) * dst_row, scratch.data());
          if (u.any()) unfit.offer({.row = a + u.row, .fit = u.fit});
        });
        if (const ops::UnfitRow first = unfit.get(); first.any()) {
          return unfit_error(t, r0 + first.row, first.fit);
        }
        out.write(reinterpret_cast<const char*>(buffer_.data()),
                  static_cast<std::streamsize>(static_cast<size_t>(n) * dst_row));
        release_resident_pages(
            bytes.subspan(static_cast<size_t>(r0) * src_row, static_cast<size_t>(n) * src_row));
      }
    }
    progress(bytes.size());
    return Status();
  }

  // Row `row` of t does not fit its format: which input tensor and row, and what to do.
  Status unfit_error(const OutTensor& t, int64_t row, ops::BlockFit fit) const {
    const bool head = head_source_ != nullptr && t.name == head_name_;
    const std::string where = "tensor '" + (head ? head_source_->source_name : t.name) + "'" +
                              (head ? " (as the output head)" : "") + " row " + std::to_string(row);
    const Status s = ops::unquantizable(where, fit, t.plan.layout);
    if (s.code() != StatusCode::kUnsupported) return s;
    return Status(s.code(),
                  s.message() + (t.plan.vision ? "; keep the vision tower as stored "
                                                 "(--vision-format stored)"
                                               : "; the LLM cannot be quantized (load the float "
                                                 "checkpoint with --quant bf16 instead)"));
  }

  Status write_config(const fs::path& dir) const {
    const fs::path src = d_.dir / "config.json";
    std::ifstream in(src, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return Status::io_error(src.string() + ": cannot read");
    nlohmann::ordered_json config;
    try {
      config = nlohmann::ordered_json::parse(text.str());
    } catch (const nlohmann::json::exception& e) {
      return Status::corrupt(src.string() + ": " + e.what());
    }
    nlohmann::ordered_json block = {{"version", q_.version},
                                    {"llm", std::string(io::quantized_format_name(q_.llm))},
                                    {"vision", std::string(io::quantized_format_name(q_.vision))},
                                    {"block", q_.block},
                                    {"scale", q_.scale},
                                    {"layout", q_.layout}};
    if (!q_.source.empty()) block["source"] = q_.source;
    config[std::string(io::kQuantizationKey)] = block;
    return write_text(dir / "config.json", config.dump(2) + "\n");
  }

  Status write_index(const fs::path& dir, const nlohmann::ordered_json& weight_map,
                     uint64_t total) const {
    nlohmann::ordered_json index = nlohmann::ordered_json::object();
    // Keep the input index's metadata (with the new total size).
    if (auto in = io::read_json_file(d_.dir / kIndexFile);
        in.ok() && in->contains("metadata") && (*in)["metadata"].is_object()) {
      index["metadata"] = (*in)["metadata"];
    }
    index["metadata"]["total_size"] = total;
    nlohmann::ordered_json sorted = nlohmann::ordered_json::object();
    std::vector<std::string> names;
    for (const auto& [k, v] : weight_map.items()) names.push_back(k);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) sorted[n] = weight_map[n];
    index["weight_map"] = sorted;
    return write_text(dir / kIndexFile, index.dump(2) + "\n");
  }

  // Every other regular file of the input directory (tokenizer, preprocessor and generation
  // configs, chat templates, remote code, README): copied. Weight files and subdirectories
  // are not.
  Status copy_side_files(const fs::path& dir) const {
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(d_.dir, ec)) {
      const fs::path p = e.path();
      if (!e.is_regular_file() || p.filename() == "config.json" || is_weight_file(p) ||
          p.filename().string().starts_with(".")) {
        continue;
      }
      fs::copy_file(p, dir / p.filename(), ec);  // follows symlinks (the hub cache uses them)
      if (ec) return Status::io_error(p.string() + ": cannot copy: " + ec.message());
    }
    if (ec) return Status::io_error(d_.dir.string() + ": cannot list: " + ec.message());
    return Status();
  }

  static Status write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return Status::io_error(path.string() + ": write failed");
    return Status();
  }

  model::ModelDescription d_;
  io::QuantizationConfig q_;
  ThreadPool pool_;
  std::map<std::string, TensorPlan> plans_;  // by source tensor name
  std::string head_name_;                    // the added head ("" = none)
  const model::WeightRef* head_source_ = nullptr;
  TensorPlan head_plan_;
  std::vector<std::byte> buffer_;
  std::chrono::steady_clock::time_point start_;
  uint64_t total_in_ = 0, done_in_ = 0, reported_ = 0;
  size_t done_tensors_ = 0;
};

Status check_output(const std::string& out_dir) {
  std::error_code ec;
  const fs::path out(out_dir);
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec))) {
    return Status::invalid_argument(out_dir +
                                    " already exists and is not an empty directory; give a new "
                                    "directory");
  }
  return Status();
}

std::string source_name(const std::string& dir) {
  fs::path p = fs::absolute(fs::path(dir)).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

int run_quantize(const QuantizeOptions& o) {
  if (Status s = check_output(o.out_dir); !s.ok()) return report_error(s);
  io::QuantizationConfig q;
  q.llm = *io::quantized_format_from_name(o.format);
  q.vision = *io::quantized_format_from_name(o.vision_format);
  q.source = source_name(o.model_dir);
  auto desc = model::open_model_description(o.model_dir);
  if (!desc.ok()) return report_error(desc.status());
  if (const auto& existing = desc->config.quantization) {
    return report_error(Status::invalid_argument(
        o.model_dir + " is already quantized (llm " +
        std::string(io::quantized_format_name(existing->llm)) + ", vision " +
        std::string(io::quantized_format_name(existing->vision)) +
        "); quantize from the original float checkpoint"));
  }
  Quantizer quantizer(o, std::move(*desc), q);
  if (Status s = quantizer.plan(); !s.ok()) return report_error(s);

  const fs::path out = fs::absolute(fs::path(o.out_dir));
  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  if (ec) {
    return report_error(
        Status::io_error(out.parent_path().string() + ": cannot create: " + ec.message()));
  }
  const uint64_t total = quantizer.total_out_bytes();
  const fs::space_info space = fs::space(out.parent_path(), ec);
  if (!ec && space.available < total + (64u << 20)) {
    return report_error(Status::resource_exhausted(
        out.parent_path().string() + " has " + std::to_string(gigabytes(space.available)) +
        " GB free; the quantized checkpoint needs " + std::to_string(gigabytes(total)) + " GB"));
  }
  std::fprintf(stderr, "quantize: %s -> %s: llm %s, vision %s, %.3f GB\n", o.model_dir.c_str(),
               out.string().c_str(), o.format.c_str(), o.vision_format.c_str(), gigabytes(total));
  Status s =
      publish_directory(out, "quantize", [&](const fs::path& tmp) { return quantizer.write(tmp); });
  if (!s.ok()) return report_error(s);
  std::fprintf(stderr, "wrote %s\n", out.string().c_str());
  return 0;
}

}  // namespace

void add_quantize_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<QuantizeOptions>();
  CLI::App* sub = app.add_subcommand(
      "quantize",
      "Write a quantized copy of a checkpoint: the linear-layer matrices as q8_0 / q4_0 rows "
      "(safetensors dtype U8), loaded memory-mapped and used in place, with no conversion at "
      "load. Same layout, tensor names and sharding as the input; config.json records the "
      "formats.");
  sub->add_option("-m,--model", o->model_dir, "Checkpoint directory to quantize (float weights)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("-o,--output", o->out_dir,
                  "New checkpoint directory (must not exist, or be empty)")
      ->required();
  sub->add_option("--format", o->format, "Format of the LLM's matrices and head: q8_0 or q4_0")
      ->required()
      ->check(CLI::IsMember({"q8_0", "q4_0"}));
  sub->add_option("--vision-format", o->vision_format,
                  "Format of the vision tower's and projector's matrices: stored (default: kept "
                  "as in the input, converted at load as --vision-quant says), q8_0 or q4_0")
      ->check(CLI::IsMember({"stored", "q8_0", "q4_0"}));
  sub->add_option("-t,--threads", o->threads, "Threads (default: one per hardware thread)");
  sub->callback([o, exit_code] { *exit_code = run_quantize(*o); });
}

}  // namespace ivl::cli
