// Weight rules: how canonical weights are found in a checkpoint, and their resolution into a
// WeightTable with every missing, mis-shaped or mistyped tensor reported at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/checkpoint.h"
#include "ivl/status.h"
#include "model/weight_table.h"
#include "ops/matrix.h"

namespace ivl::model {

struct WeightRule {
  std::string canonical;
  std::vector<std::string> sources;  // candidate checkpoint names; the first present one is used
  Shape shape;                       // logical shape of the canonical weight
  bool required = true;
  // For a weight cut out of a fused tensor: the fused tensor's shape and the rows to take.
  Shape source_shape;
  std::vector<RowRange> rows;
};

// A whole tensor used as is.
WeightRule plain_rule(std::string canonical, std::vector<std::string> sources, Shape shape,
                      bool required = true);

// Rows of a fused tensor of shape `source_shape`; the logical shape is the rows taken × the
// remaining dims of the source.
WeightRule rows_rule(std::string canonical, std::vector<std::string> sources, Shape source_shape,
                     std::vector<RowRange> rows, bool required = true);

// The model part whose linear-layer matrix the canonical weight `name` is: kVision for
// InternViT's attn.{q,k,v,proj} and mlp.{fc1,fc2} and the projector's fc1/fc2, kLlm for the
// decoder's attn.{q,k,v,o}, mlp.{gate,up,down} and the head; kNone for everything else (norms,
// biases, embeddings, the patch embedding). These are the tensors a quantized checkpoint may
// hold as quantized rows.
enum class MatrixPart { kNone, kVision, kLlm };
MatrixPart matrix_part(std::string_view canonical);

// What a quantized checkpoint's config says its parts' matrices are (kRows: not quantized; else
// kQ8_0 / kQ4_0, each matrix falling back as ops::quantized_layout_for says).
struct QuantizedParts {
  ops::MatrixLayout llm = ops::MatrixLayout::kRows;
  ops::MatrixLayout vision = ops::MatrixLayout::kRows;
  ops::MatrixLayout of(MatrixPart part) const;
};

struct ResolvedWeights {
  WeightTable table;
  std::vector<std::string> unused;  // checkpoint tensors no rule asked for
};

// Resolves `rules` against `checkpoint`. Fails with kInvalidArgument listing every missing
// required tensor, every shape mismatch (expected vs found, with the file), and with
// kUnsupported for tensors of a dtype the engine cannot compute with (only F32/F16/BF16).
// `quantized` (a checkpoint with the quantization block): a matrix of a quantized part may
// instead be a U8 tensor [source rows, ops::quant_row_bytes(layout, in)], `in` taken from the
// rule's shape; the WeightRef then says which layout. A U8 tensor anywhere else (no block, a
// vector or embedding, an unquantized part, a matrix whose K does not fit, wrong row bytes) is
// kCorruptData naming the tensor.
Result<ResolvedWeights> resolve_weights(const std::vector<WeightRule>& rules,
                                        const io::Checkpoint& checkpoint,
                                        const std::optional<QuantizedParts>& quantized = {});

}  // namespace ivl::model
