// The engine's internal weight table: one canonical name per logical weight, whatever the
// checkpoint layout, each a zero-copy description of where its bytes live.
//
// Canonical names (the glossary in docs/architecture.md):
//   vit.cls_token, vit.patch_embed.{weight,bias}, vit.pos_embed,
//   vit.L{i}.{norm1,norm2}.{weight,bias}, vit.L{i}.attn.{q,k,v,proj}.{weight,bias},
//   vit.L{i}.attn.{q_norm,k_norm}.weight, vit.L{i}.{ls1,ls2}, vit.L{i}.mlp.{fc1,fc2}.{weight,bias}
//   proj.norm.{weight,bias}, proj.fc1.{weight,bias}, proj.fc2.{weight,bias}
//   llm.embed.weight, llm.L{i}.{attn_norm,mlp_norm}.weight,
//   llm.L{i}.attn.{q,k,v,o}.{weight,bias}, llm.L{i}.attn.{q_norm,k_norm}.weight,
//   llm.L{i}.mlp.{gate,up,down}.weight, llm.final_norm.weight, llm.head.weight (absent = tied)
//
// A fused source tensor (InternViT `attn.qkv`, Phi-3 `qkv_proj`/`gate_up_proj`, InternLM2's
// grouped `wqkv`) is not copied: the canonical weight lists the row ranges of the source that,
// concatenated in order, form it. Kernels that need packed layouts build them from these views.
//
// In a quantized checkpoint (`internvl quantize`) a linear layer's matrix may be stored as
// quantized rows: the source tensor is U8 [rows, quant_row_bytes], `layout` says which rows, and
// `shape` stays the logical float shape [rows, in]; row ranges select the same rows as before.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor_view.h"
#include "ops/matrix.h"

namespace ivl::model {

// Rows [begin, end) along dim 0 of a source tensor.
struct RowRange {
  int64_t begin = 0;
  int64_t end = 0;
};

struct WeightRef {
  std::string name;            // canonical
  std::string source_name;     // checkpoint tensor name
  TensorView source;           // the whole source tensor (view into the mapping)
  Shape shape;                 // logical shape of this weight
  std::vector<RowRange> rows;  // empty: the whole source; else these row ranges, in order
  ops::MatrixLayout layout = ops::MatrixLayout::kRows;  // kQ8_0 / kQ4_0: quantized rows (U8)

  DType dtype() const { return source.dtype; }
  bool quantized() const { return layout != ops::MatrixLayout::kRows; }
  // Bytes of one row (dim 0) of the source tensor.
  size_t source_row_bytes() const;
  int64_t numel() const { return shape_numel(shape); }
  // True when the weight is one contiguous byte range of the source (then view() is valid).
  bool contiguous() const { return rows.size() <= 1; }
  // The weight as a plain view; only for contiguous(), unquantized weights.
  TensorView view() const;
  // The weight's bytes, rows concatenated in order (a copy: for packing and tests).
  std::vector<std::byte> gather_bytes() const;
};

class WeightTable {
 public:
  void add(WeightRef ref);
  const WeightRef* find(const std::string& name) const;
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  const std::map<std::string, WeightRef>& all() const { return weights_; }
  size_t size() const { return weights_.size(); }
  // Total elements of the weights whose canonical name starts with `prefix` ("vit.", "llm.").
  int64_t count_params(const std::string& prefix) const;

 private:
  std::map<std::string, WeightRef> weights_;
};

}  // namespace ivl::model
