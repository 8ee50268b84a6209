// The generic part of an LLM's HF config: sizes, RoPE parameters, special token ids.
#include "io/text_config.h"

#include <cmath>

namespace ivl::io {
namespace {

struct RopeKindName {
  std::string_view name;
  RopeKind kind;
};
// HF spellings; "su" is Phi-3's old name for longrope, "mrope"/"default" are plain RoPE.
constexpr RopeKindName kRopeKinds[] = {
    {"default", RopeKind::kDefault}, {"linear", RopeKind::kLinear},
    {"dynamic", RopeKind::kDynamic}, {"longrope", RopeKind::kLongRope},
    {"su", RopeKind::kLongRope},     {"yarn", RopeKind::kYarn},
    {"llama3", RopeKind::kLlama3},
};

void parse_rope_details(FieldReader& r, RopeConfig* rope) {
  rope->factor = r.number_or("factor", 1.0);
  if (rope->kind != RopeKind::kDefault && rope->kind != RopeKind::kLongRope && rope->factor <= 0) {
    r.error("factor", "must be positive");
  }
  rope->original_max_position = r.optional_integer("original_max_position_embeddings", {.min = 1});
  rope->short_factor = r.number_list("short_factor");
  rope->long_factor = r.number_list("long_factor");
  if (r.has("attention_factor")) rope->attention_factor = r.number("attention_factor");
  rope->beta_fast = r.number_or("beta_fast", 32.0);
  rope->beta_slow = r.number_or("beta_slow", 1.0);
  rope->low_freq_factor = r.number_or("low_freq_factor", 1.0);
  rope->high_freq_factor = r.number_or("high_freq_factor", 4.0);
  rope->partial_rotary_factor = r.number_or("partial_rotary_factor", 1.0);
}

// Reads the kind from `rope_type` (or legacy `type`); records an unsupported-kind error.
bool parse_rope_kind(FieldReader& r, RopeConfig* rope, std::vector<std::string>* unsupported) {
  std::string type = r.string_or("rope_type", r.string_or("type", "default"));
  for (const auto& k : kRopeKinds) {
    if (k.name == type) {
      rope->kind = k.kind;
      return true;
    }
  }
  unsupported->push_back(r.path() + ".rope_type \"" + type +
                         "\" is not supported (supported: default, linear, dynamic, "
                         "longrope/su, yarn, llama3)");
  return false;
}

}  // namespace

std::string_view rope_kind_name(RopeKind kind) {
  switch (kind) {
    case RopeKind::kDefault:
      return "default";
    case RopeKind::kLinear:
      return "linear";
    case RopeKind::kDynamic:
      return "dynamic";
    case RopeKind::kLongRope:
      return "longrope";
    case RopeKind::kYarn:
      return "yarn";
    case RopeKind::kLlama3:
      return "llama3";
  }
  return "?";
}

TextConfig parse_text_config(FieldReader& r, std::vector<std::string>* unsupported) {
  TextConfig t;
  t.raw = r.json();
  if (const auto* archs = r.raw("architectures")) {
    if (archs->is_array() && !archs->empty() && (*archs)[0].is_string()) {
      t.architecture = (*archs)[0].get<std::string>();
    } else {
      r.error("architectures", "expected a non-empty list of strings");
    }
  }
  t.model_type = r.string_or("model_type", "");
  t.hidden_size = r.integer("hidden_size", {.min = 1});
  t.num_layers = r.integer("num_hidden_layers", {.min = 1});
  t.num_heads = r.integer("num_attention_heads", {.min = 1});
  t.num_kv_heads = r.integer_or("num_key_value_heads", t.num_heads, {.min = 1});
  t.head_dim = r.optional_integer("head_dim", {.min = 1});
  t.intermediate_size = r.integer("intermediate_size", {.min = 1});
  t.vocab_size = r.integer("vocab_size", {.min = 1});
  t.rms_norm_eps = r.number_or("rms_norm_eps", 1e-6);
  t.max_position_embeddings = r.integer_or("max_position_embeddings", 0, {.min = 0});
  t.tie_word_embeddings = r.boolean_or("tie_word_embeddings", false);
  t.hidden_act = r.string_or("hidden_act", "silu");
  t.bos_token_id = r.optional_integer("bos_token_id");
  t.eos_token_ids = r.integer_list("eos_token_id");

  // transformers v5 writes `rope_parameters`; older configs `rope_theta` + `rope_scaling`.
  if (auto params = r.optional_object("rope_parameters")) {
    t.rope.theta = params->number_or("rope_theta", r.number_or("rope_theta", 10000.0));
    if (parse_rope_kind(*params, &t.rope, unsupported)) parse_rope_details(*params, &t.rope);
  } else {
    t.rope.theta = r.number_or("rope_theta", 10000.0);
    if (auto scaling = r.optional_object("rope_scaling")) {
      if (parse_rope_kind(*scaling, &t.rope, unsupported)) parse_rope_details(*scaling, &t.rope);
    }
  }
  if (t.rope.theta <= 0) r.error("rope_theta", "must be positive");

  // Contradictions a decoder cannot run with.
  if (t.num_heads > 0 && t.num_kv_heads > 0 && t.num_heads % t.num_kv_heads != 0) {
    r.error("num_key_value_heads", "num_attention_heads (" + std::to_string(t.num_heads) +
                                       ") must be a multiple of num_key_value_heads (" +
                                       std::to_string(t.num_kv_heads) + ")");
  }
  if (!t.head_dim && t.num_heads > 0 && t.hidden_size % t.num_heads != 0) {
    r.error("hidden_size", "must be divisible by num_attention_heads when head_dim is not given");
  }
  if (t.num_heads > 0 && t.effective_head_dim() % 2 != 0) {
    r.error("head_dim", "must be even for rotary embeddings");
  }
  if (t.rope.kind == RopeKind::kLongRope &&
      t.rope.short_factor.size() != t.rope.long_factor.size()) {
    r.error("rope_scaling", "short_factor and long_factor must have the same length");
  }
  return t;
}

}  // namespace ivl::io
