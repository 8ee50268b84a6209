// config.json of both checkpoint layouts -> ModelConfig (spec §2.5, §3.4, §4, §10).
#include "io/model_config.h"

#include <cmath>

#include "io/json_util.h"
#include "io/text_config.h"

namespace ivl::io {
namespace {

constexpr std::string_view kOriginalArch = "InternVLChatModel";
constexpr std::string_view kNativeArch = "InternVLForConditionalGeneration";

// Collects field errors and unsupported values separately: the first make the file invalid,
// the second mean "valid, but this engine does not run it".
struct Problems {
  std::vector<std::string> errors;
  std::vector<std::string> unsupported;

  Status to_status(const std::string& source) const {
    if (!errors.empty()) return config_errors(source, errors);
    if (!unsupported.empty()) {
      std::string msg = source + ": ";
      for (size_t i = 0; i < unsupported.size(); ++i) msg += (i ? "; " : "") + unsupported[i];
      return Status::unsupported(msg);
    }
    return Status();
  }
};

// `image_size` / `patch_size` are ints in the original layout and [h, w] in the native one.
int64_t square_size(FieldReader& r, std::string_view key, int64_t fallback) {
  const nlohmann::json* v = r.raw(key);
  if (v == nullptr) return fallback;
  if (v->is_array()) {
    if (v->size() == 2 && (*v)[0].is_number_integer() && (*v)[0] == (*v)[1] &&
        (*v)[0].get<int64_t>() > 0) {
      return (*v)[0].get<int64_t>();
    }
    r.error(key, "expected a positive integer or a square [h, w] pair, got " + json_excerpt(*v));
    return fallback;
  }
  return r.integer(key, {.min = 1});
}

VisionNorm parse_vision_norm(FieldReader& r, std::string_view fallback, Problems* p) {
  std::string norm = r.string_or("norm_type", std::string(fallback));
  if (norm == "layer_norm") return VisionNorm::kLayerNorm;
  if (norm == "rms_norm") return VisionNorm::kRmsNorm;
  p->unsupported.push_back(r.path() + ".norm_type \"" + norm +
                           "\" is not supported (supported: layer_norm, rms_norm)");
  return VisionNorm::kRmsNorm;
}

// The two vision config classes share every key but the bias and q/k-norm flags, whose names
// and defaults differ: InternVisionConfig (original; qkv_bias false, qk_normalization true —
// released checkpoints write both out) and InternVLVisionConfig (native; attention_bias,
// use_qk_norm, both false by default).
struct VisionKeys {
  const char* qkv_bias;
  const char* qk_norm;
  bool qk_norm_default;
};
constexpr VisionKeys kOriginalVisionKeys = {"qkv_bias", "qk_normalization", true};
constexpr VisionKeys kNativeVisionKeys = {"attention_bias", "use_qk_norm", false};

VisionConfig parse_vision(FieldReader r, const VisionKeys& keys, Problems* p) {
  VisionConfig v;
  v.hidden_size = r.integer("hidden_size", {.min = 1});
  v.num_layers = r.integer("num_hidden_layers", {.min = 1});
  v.num_heads = r.integer("num_attention_heads", {.min = 1});
  v.intermediate_size = r.integer("intermediate_size", {.min = 1});
  v.image_size = square_size(r, "image_size", 448);
  v.patch_size = square_size(r, "patch_size", 14);
  v.num_channels = r.integer_or("num_channels", 3, {.min = 1});
  v.norm = parse_vision_norm(r, "rms_norm", p);
  v.norm_eps = r.number_or("layer_norm_eps", 1e-6);
  v.qkv_bias = r.boolean_or(keys.qkv_bias, false);
  v.qk_norm = r.boolean_or(keys.qk_norm, keys.qk_norm_default);
  v.hidden_act = r.string_or("hidden_act", "gelu");
  if (!r.boolean_or("use_mean_pooling", true)) {  // native only: false adds a final LayerNorm
    p->unsupported.push_back(r.path() +
                             ".use_mean_pooling false (a final vision LayerNorm) is not supported");
  }
  return v;
}

void check_vision(FieldReader& r, const VisionConfig& v, Problems* p) {
  if (v.num_heads > 0 && v.hidden_size % v.num_heads != 0) {
    r.error("hidden_size", "must be divisible by num_attention_heads");
  }
  if (v.patch_size > 0 && v.image_size % v.patch_size != 0) {
    r.error("image_size", "must be a multiple of patch_size");
  }
  if (v.hidden_act != "gelu") {
    p->unsupported.push_back(r.path() + ".hidden_act \"" + v.hidden_act +
                             "\" is not supported (supported: gelu)");
  }
}

// Original-layout chat model: InternVLChatConfig. Absent keys take that class's defaults.
void parse_original(FieldReader& root, ModelConfig* c, Problems* p) {
  c->layout = CheckpointLayout::kOriginal;
  FieldReader vision = root.object("vision_config");
  c->vision = parse_vision(vision, kOriginalVisionKeys, p);
  check_vision(vision, c->vision, p);
  FieldReader llm = root.object("llm_config");
  c->text = parse_text_config(llm, &p->unsupported);
  if (auto t = root.optional_string("template")) {
    c->template_name = *t;
  } else {
    root.error("template", "missing: the original layout names its conversation template here");
  }
  c->system_message = root.optional_string("system_message");
  c->downsample_ratio = root.number_or("downsample_ratio", 0.5);
  c->ps_version = root.string_or("ps_version", "v1");
  c->select_layer = root.integer_or("select_layer", -1);
  // `force_image_size` overrides the vision tower's own image size.
  c->image.image_size = root.integer_or("force_image_size", c->vision.image_size, {.min = 1});
  c->image.min_dynamic_patch = root.integer_or("min_dynamic_patch", 1, {.min = 1});
  c->image.max_dynamic_patch = root.integer_or("max_dynamic_patch", 6, {.min = 1});
  c->image.use_thumbnail = root.boolean_or("use_thumbnail", false);
  c->image.dynamic_image_size = root.boolean_or("dynamic_image_size", false);
}

// Template for the native layout, which does not name one: every InternVL release converted
// to this layout (2.5, 3, 3.5) uses `internvl2_5`, except the Phi-3 and GPT-OSS based ones.
std::string infer_native_template(const TextConfig& text) {
  if (text.model_type == "phi3") return "phi3-chat";
  if (text.model_type == "gpt_oss") return "internvl3_5_gpt_oss";
  return "internvl2_5";
}

void parse_native(FieldReader& root, ModelConfig* c, Problems* p) {
  c->layout = CheckpointLayout::kNative;
  FieldReader vision = root.object("vision_config");
  c->vision = parse_vision(vision, kNativeVisionKeys, p);
  check_vision(vision, c->vision, p);
  FieldReader text = root.object("text_config");
  c->text = parse_text_config(text, &p->unsupported);
  if (auto t = root.optional_string("template")) {
    c->template_name = *t;
  } else {
    c->template_name = infer_native_template(c->text);
    c->template_inferred = true;
  }
  c->system_message = root.optional_string("system_message");
  c->image_token_id = root.optional_integer("image_token_id", {.min = 0});
  c->downsample_ratio = root.number_or("downsample_ratio", 0.5);
  c->ps_version = "v2";  // the native port always permutes back (spec §4)
  c->select_layer = root.integer_or("vision_feature_layer", -1);
  std::string strategy = root.string_or("vision_feature_select_strategy", "default");
  if (strategy != "default") {
    p->unsupported.push_back("vision_feature_select_strategy \"" + strategy +
                             "\" is not supported (supported: default)");
  }
  std::string act = root.string_or("projector_hidden_act", "gelu");
  if (act != "gelu") {
    p->unsupported.push_back("projector_hidden_act \"" + act +
                             "\" is not supported (supported: gelu)");
  }
  c->image.image_size = c->vision.image_size;
  // GotOcr2 processor defaults used by InternVLProcessor (spec §2.8).
  c->image.min_dynamic_patch = 1;
  c->image.max_dynamic_patch = 12;
  c->image.use_thumbnail = true;
  c->image.dynamic_image_size = true;
}

void check_top_level(FieldReader& root, ModelConfig* c) {
  if (c->ps_version != "v1" && c->ps_version != "v2") {
    root.error("ps_version", "must be \"v1\" or \"v2\", got \"" + c->ps_version + "\"");
  }
  const VisionConfig& v = c->vision;
  if (v.patch_size > 0 && v.image_size > 0) {
    double side = static_cast<double>(v.image_size / v.patch_size) * c->downsample_ratio;
    if (c->downsample_ratio <= 0 || c->downsample_ratio > 1 || side != std::floor(side) ||
        side < 1) {
      root.error("downsample_ratio",
                 "must divide the " + std::to_string(v.image_size / v.patch_size) +
                     "-patch grid into whole tokens, got " + std::to_string(c->downsample_ratio));
    }
  }
  if (v.num_layers > 0 &&
      (c->select_layer < -(v.num_layers + 1) || c->select_layer > v.num_layers)) {
    root.error(c->layout == CheckpointLayout::kOriginal ? "select_layer" : "vision_feature_layer",
               "must be in [" + std::to_string(-(v.num_layers + 1)) + ", " +
                   std::to_string(v.num_layers) + "], got " + std::to_string(c->select_layer));
  }
  if (c->image.min_dynamic_patch > c->image.max_dynamic_patch) {
    root.error("min_dynamic_patch", "exceeds max_dynamic_patch");
  }
  if (c->image.image_size != v.image_size && v.patch_size > 0 &&
      c->image.image_size % v.patch_size != 0) {
    root.error("force_image_size", "must be a multiple of the vision patch_size");
  }
  if (c->image_token_id && c->text.vocab_size > 0 && *c->image_token_id >= c->text.vocab_size) {
    root.error("image_token_id",
               "must be below text_config.vocab_size (" + std::to_string(c->text.vocab_size) + ")");
  }
}

void read_preprocessor_config(const std::filesystem::path& path, ModelConfig* c, Problems* p) {
  auto json = read_json_file(path);
  if (!json.ok()) {
    p->errors.push_back(json.status().message());
    return;
  }
  c->files_read.push_back(path.filename().string());
  FieldReader r(*json, "preprocessor_config.json", &p->errors);
  c->image.min_dynamic_patch = r.integer_or("min_patches", c->image.min_dynamic_patch, {.min = 1});
  c->image.max_dynamic_patch = r.integer_or("max_patches", c->image.max_dynamic_patch, {.min = 1});
  for (auto [key, target] :
       {std::pair{"image_mean", &c->image.mean}, {"image_std", &c->image.std}}) {
    std::vector<double> values = r.number_list(key);
    if (values.empty()) continue;
    if (values.size() != 3) {
      r.error(key, "expected 3 values");
      continue;
    }
    for (size_t i = 0; i < 3; ++i) (*target)[i] = values[i];
  }
  for (double s : c->image.std) {
    if (s <= 0) r.error("image_std", "values must be positive");
  }
}

void read_generation_config(const std::filesystem::path& path, ModelConfig* c, Problems* p) {
  auto json = read_json_file(path);
  if (!json.ok()) {
    p->errors.push_back(json.status().message());
    return;
  }
  c->files_read.push_back(path.filename().string());
  FieldReader r(*json, "generation_config.json", &p->errors);
  GenerationDefaults g;
  g.eos_token_ids = r.integer_list("eos_token_id");
  g.max_new_tokens = r.optional_integer("max_new_tokens", {.min = 1});
  if (r.has("do_sample")) g.do_sample = r.boolean_or("do_sample", false);
  if (r.has("temperature")) g.temperature = r.number("temperature");
  if (r.has("top_p")) g.top_p = r.number("top_p");
  if (r.has("repetition_penalty")) g.repetition_penalty = r.number("repetition_penalty");
  g.top_k = r.optional_integer("top_k", {.min = 0});
  c->generation = std::move(g);
}

// The internvl_cpp_quantization block. Values this build cannot read are kUnsupported (a newer
// version, another block size); unknown format names list the known ones.
void parse_quantization(FieldReader& root, ModelConfig* c, Problems* p) {
  if (!root.has(kQuantizationKey)) return;
  std::optional<FieldReader> q = root.optional_object(kQuantizationKey);
  if (!q) return;  // wrong type: recorded by the reader
  QuantizationConfig out;
  out.version = q->integer("version", {.min = 1});
  if (out.version > kQuantizationVersion) {
    p->unsupported.push_back(q->path() + ".version " + std::to_string(out.version) +
                             " is newer than this build reads (" +
                             std::to_string(kQuantizationVersion) + "); update internvl.cpp");
  }
  auto format = [&](std::string_view key) {
    const std::string name = q->string(key);
    if (auto f = quantized_format_from_name(name)) return *f;
    if (const nlohmann::json* v = q->raw(key); v != nullptr && v->is_string()) {
      p->unsupported.push_back(q->path() + "." + std::string(key) + " \"" + name +
                               "\" is not a quantized format this engine reads (supported: stored, "
                               "q8_0, q4_0)");
    }
    return QuantizedFormat::kStored;
  };
  out.llm = format("llm");
  out.vision = format("vision");
  out.block = q->integer_or("block", 32);
  out.scale = q->string_or("scale", "f16");
  out.layout = q->string_or("layout", "rows");
  out.source = q->string_or("source", "");
  if (out.block != 32) {
    p->unsupported.push_back(q->path() + ".block " + std::to_string(out.block) +
                             " is not supported (supported: 32)");
  }
  if (out.scale != "f16") {
    p->unsupported.push_back(q->path() + ".scale \"" + out.scale +
                             "\" is not supported (supported: f16)");
  }
  if (out.layout != "rows") {
    p->unsupported.push_back(q->path() + ".layout \"" + out.layout +
                             "\" is not supported (supported: rows)");
  }
  c->quantization = std::move(out);
}

}  // namespace

std::string_view quantized_format_name(QuantizedFormat format) {
  switch (format) {
    case QuantizedFormat::kStored:
      return "stored";
    case QuantizedFormat::kQ8_0:
      return "q8_0";
    case QuantizedFormat::kQ4_0:
      return "q4_0";
  }
  return "?";
}

std::optional<QuantizedFormat> quantized_format_from_name(std::string_view name) {
  for (QuantizedFormat f :
       {QuantizedFormat::kStored, QuantizedFormat::kQ8_0, QuantizedFormat::kQ4_0}) {
    if (name == quantized_format_name(f)) return f;
  }
  return std::nullopt;
}

std::string_view layout_name(CheckpointLayout layout) {
  return layout == CheckpointLayout::kOriginal ? "original (InternVLChatModel)"
                                               : "native (InternVLForConditionalGeneration)";
}

int64_t ModelConfig::num_image_tokens() const {
  int64_t grid = image.image_size / vision.patch_size;
  auto side = static_cast<int64_t>(std::llround(static_cast<double>(grid) * downsample_ratio));
  return side * side;
}

Result<ModelConfig> parse_model_config(const nlohmann::json& config, const std::string& source) {
  Problems p;
  FieldReader root(config, "", &p.errors);
  if (!p.errors.empty()) return p.to_status(source);
  ModelConfig c;
  std::string arch;
  if (const auto* archs = root.raw("architectures");
      archs != nullptr && archs->is_array() && !archs->empty() && (*archs)[0].is_string()) {
    arch = (*archs)[0].get<std::string>();
  }
  // Layout: the architecture string when present, else the shape of the file.
  bool original = arch == kOriginalArch || (arch.empty() && root.has("llm_config"));
  bool native = arch == kNativeArch || (arch.empty() && root.has("text_config"));
  if (!original && !native) {
    return Status::unsupported(
        source + ": architecture \"" + arch + "\" is not an InternVL checkpoint this engine runs " +
        "(supported: " + std::string(kOriginalArch) + ", " + std::string(kNativeArch) + ")");
  }
  c.architecture = original ? std::string(kOriginalArch) : std::string(kNativeArch);
  if (original) {
    parse_original(root, &c, &p);
  } else {
    parse_native(root, &c, &p);
  }
  check_top_level(root, &c);
  parse_quantization(root, &c, &p);
  IVL_RETURN_IF_ERROR(p.to_status(source));
  return c;
}

Result<ModelConfig> load_model_config(const std::filesystem::path& model_dir) {
  std::filesystem::path config_path = model_dir / "config.json";
  auto json = read_json_file(config_path);
  if (!json.ok()) {
    if (json.status().code() == StatusCode::kNotFound) {
      return Status::not_found(config_path.string() +
                               ": no config.json (is this a Hugging Face checkpoint directory?)");
    }
    return json.status();
  }
  IVL_ASSIGN_OR_RETURN(ModelConfig c, parse_model_config(*json, config_path.string()));
  c.files_read.insert(c.files_read.begin(), "config.json");
  Problems p;
  if (std::filesystem::exists(model_dir / "preprocessor_config.json")) {
    read_preprocessor_config(model_dir / "preprocessor_config.json", &c, &p);
  }
  if (std::filesystem::exists(model_dir / "generation_config.json")) {
    read_generation_config(model_dir / "generation_config.json", &c, &p);
  }
  if (c.image.min_dynamic_patch > c.image.max_dynamic_patch) {
    p.errors.push_back("min_patches exceeds max_patches");
  }
  IVL_RETURN_IF_ERROR(p.to_status(model_dir.string()));
  return c;
}

}  // namespace ivl::io
