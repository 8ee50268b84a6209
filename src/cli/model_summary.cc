#include "cli/model_summary.h"

#include <cstdio>
#include <map>

namespace ivl::cli {
namespace {

using nlohmann::ordered_json;

std::string millions(int64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f M", static_cast<double>(n) / 1e6);
  return buf;
}

std::string megabytes(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1024.0 * 1024.0));
  return buf;
}

ordered_json vision_summary(const io::ModelConfig& c, const model::WeightTable& w) {
  const io::VisionConfig& v = c.vision;
  return {{"layers", v.num_layers},
          {"hidden_size", v.hidden_size},
          {"heads", v.num_heads},
          {"intermediate_size", v.intermediate_size},
          {"norm", v.norm == io::VisionNorm::kLayerNorm ? "layer_norm" : "rms_norm"},
          {"qkv_bias", v.qkv_bias},
          {"qk_norm", v.qk_norm},
          {"patch_size", v.patch_size},
          {"select_layer", c.select_layer},
          {"parameters", w.count_params("vit.")}};
}

ordered_json llm_summary(const model::ModelDescription& d) {
  const model::LlmSpec& s = d.llm;
  ordered_json rope = {{"type", std::string(io::rope_kind_name(s.rope.kind))},
                       {"theta", s.rope.theta}};
  if (s.rope.kind != io::RopeKind::kDefault) rope["factor"] = s.rope.factor;
  return {{"backbone", s.backbone},
          {"architecture", d.config.text.architecture.empty() ? d.config.text.model_type
                                                              : d.config.text.architecture},
          {"layers", s.num_layers},
          {"hidden_size", s.hidden_size},
          {"heads", s.num_heads},
          {"kv_heads", s.num_kv_heads},
          {"head_dim", s.head_dim},
          {"intermediate_size", s.intermediate_size},
          {"vocab_size", s.vocab_size},
          {"max_position_embeddings", s.max_position_embeddings},
          {"rope", rope},
          {"qkv_bias", s.qkv_bias},
          {"qk_norm", s.qk_norm},
          {"tied_head", d.tied_head()},
          {"parameters", d.weights.count_params("llm.")}};
}

ordered_json checkpoint_summary(const model::ModelDescription& d) {
  std::map<std::string, int64_t> dtypes;
  for (const std::string& name : d.checkpoint->names()) {
    dtypes[std::string(dtype_name(d.checkpoint->find(name)->dtype))]++;
  }
  return {{"files", d.checkpoint->files()},
          {"sharded", d.checkpoint->sharded()},
          {"tensors", d.checkpoint->tensor_count()},
          {"bytes", d.checkpoint->total_bytes()},
          {"dtypes", dtypes},
          {"unused_tensors", d.unused_tensors}};
}

}  // namespace

ordered_json summarize_model(const model::ModelDescription& d, const tok::Tokenizer& tokenizer,
                             const prompt::ChatTemplate& tmpl, const model::SpecialTokens& tokens) {
  const io::ModelConfig& c = d.config;
  const int64_t vit = d.weights.count_params("vit."), proj = d.weights.count_params("proj."),
                llm = d.weights.count_params("llm.");
  ordered_json s;
  s["model_dir"] = d.dir.string();
  s["layout"] = std::string(io::layout_name(c.layout));
  s["config_files"] = c.files_read;
  s["checkpoint"] = checkpoint_summary(d);
  s["vision"] = vision_summary(c, d.weights);
  s["projector"] = {{"input", d.weights.find("proj.fc1.weight")->shape[1]},
                    {"hidden", d.llm.hidden_size},
                    {"parameters", proj}};
  s["llm"] = llm_summary(d);
  s["parameters"] = {
      {"vision", vit}, {"projector", proj}, {"llm", llm}, {"total", vit + proj + llm}};
  if (const auto& q = c.quantization) {
    s["quantization"] = {{"version", q->version},
                         {"llm", std::string(io::quantized_format_name(q->llm))},
                         {"vision", std::string(io::quantized_format_name(q->vision))},
                         {"block", q->block},
                         {"scale", q->scale},
                         {"layout", q->layout},
                         {"source", q->source}};
  }
  s["template"] = {{"name", std::string(tmpl.name)},
                   {"source", c.template_inferred ? "inferred from the LLM type" : "config.json"},
                   {"stop_token", std::string(tmpl.stop_token)},
                   {"stop_token_id", tokens.stop}};
  s["image"] = {{"tile_size", c.image.image_size},
                {"min_tiles", c.image.min_dynamic_patch},
                {"max_tiles", c.image.max_dynamic_patch},
                {"thumbnail", c.image.use_thumbnail},
                {"dynamic", c.image.dynamic_image_size},
                {"tokens_per_tile", c.num_image_tokens()},
                {"downsample_ratio", c.downsample_ratio},
                {"ps_version", c.ps_version},
                {"mean", c.image.mean},
                {"std", c.image.std}};
  ordered_json tk = {{"kind", tokenizer.kind()},
                     {"vocab_size", tokenizer.vocab_size()},
                     {"added_tokens", tokenizer.added_token_count()},
                     {"adds_bos", tokenizer.adds_bos()},
                     {"image_start_id", tokens.image_start},
                     {"image_end_id", tokens.image_end},
                     {"image_context_id", tokens.image_context}};
  if (auto bos = tokenizer.bos_id()) tk["bos_id"] = *bos;
  if (auto eos = tokenizer.eos_id()) tk["eos_id"] = *eos;
  s["tokenizer"] = tk;
  return s;
}

std::string format_summary(const ordered_json& s) {
  std::string out;
  auto line = [&](const char* key, const std::string& value) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%-12s ", key);
    out += buf + value + "\n";
  };
  const auto& ck = s["checkpoint"];
  std::string dtypes;
  for (const auto& [k, v] : ck["dtypes"].items())
    dtypes += (dtypes.empty() ? "" : ", ") + k + " " + v.dump();
  line("model", s["model_dir"].get<std::string>());
  line("layout", s["layout"].get<std::string>());
  line("checkpoint", std::to_string(ck["files"].size()) + " file(s), " + ck["tensors"].dump() +
                         " tensors, " + megabytes(ck["bytes"].get<uint64_t>()) + " (" + dtypes +
                         ")" +
                         (ck["unused_tensors"].empty()
                              ? ""
                              : ", " + std::to_string(ck["unused_tensors"].size()) + " unused"));
  const auto& v = s["vision"];
  line("vision", "InternViT " + v["layers"].dump() + " layers, hidden " + v["hidden_size"].dump() +
                     ", " + v["heads"].dump() + " heads, ffn " + v["intermediate_size"].dump() +
                     ", " + v["norm"].get<std::string>() +
                     (v["qkv_bias"].get<bool>() ? ", qkv bias" : "") +
                     (v["qk_norm"].get<bool>() ? ", q/k norm" : "") + ", select_layer " +
                     v["select_layer"].dump());
  const auto& p = s["projector"];
  line("projector",
       "mlp1 " + p["input"].dump() + " -> " + p["hidden"].dump() + " -> " + p["hidden"].dump());
  const auto& l = s["llm"];
  line("llm", l["backbone"].get<std::string>() + " (" + l["architecture"].get<std::string>() +
                  ") " + l["layers"].dump() + " layers, hidden " + l["hidden_size"].dump() + ", " +
                  l["heads"].dump() + " heads / " + l["kv_heads"].dump() + " kv, head_dim " +
                  l["head_dim"].dump() + ", ffn " + l["intermediate_size"].dump() + ", vocab " +
                  l["vocab_size"].dump() + ", rope " + l["rope"]["type"].get<std::string>() +
                  " theta " + l["rope"]["theta"].dump() + ", head " +
                  (l["tied_head"].get<bool>() ? "tied to embedding" : "lm_head"));
  const auto& n = s["parameters"];
  line("parameters", "vision " + millions(n["vision"].get<int64_t>()) + ", projector " +
                         millions(n["projector"].get<int64_t>()) + ", llm " +
                         millions(n["llm"].get<int64_t>()) + ", total " +
                         millions(n["total"].get<int64_t>()));
  if (s.contains("quantization")) {
    const auto& q = s["quantization"];
    line("quantized",
         "llm " + q["llm"].get<std::string>() + ", vision " + q["vision"].get<std::string>() +
             " (" + q["layout"].get<std::string>() + ", blocks of " + q["block"].dump() + ", " +
             q["scale"].get<std::string>() + " scales; used in place)" +
             (q["source"].get<std::string>().empty() ? ""
                                                     : ", from " + q["source"].get<std::string>()));
  }
  const auto& t = s["template"];
  line("template", t["name"].get<std::string>() + " (" + t["source"].get<std::string>() +
                       "), stop " + t["stop_token"].get<std::string>() + " = " +
                       t["stop_token_id"].dump());
  const auto& im = s["image"];
  line("images", im["tile_size"].dump() + " px tiles, " + im["min_tiles"].dump() + ".." +
                     im["max_tiles"].dump() + " per image" +
                     (im["thumbnail"].get<bool>() ? " + thumbnail" : "") + ", " +
                     im["tokens_per_tile"].dump() + " tokens/tile, pixel shuffle " +
                     im["ps_version"].get<std::string>() + " x" + im["downsample_ratio"].dump());
  const auto& tk = s["tokenizer"];
  line("tokenizer", tk["kind"].get<std::string>() + ", " + tk["vocab_size"].dump() + " tokens (" +
                        tk["added_tokens"].dump() + " added), BOS " +
                        (tk["adds_bos"].get<bool>() ? "added" : "none") + ", <img> " +
                        tk["image_start_id"].dump() + ", </img> " + tk["image_end_id"].dump() +
                        ", <IMG_CONTEXT> " + tk["image_context_id"].dump());
  return out;
}

}  // namespace ivl::cli
