// Weight rules: how canonical weights are found in a checkpoint, and their resolution into a
// WeightTable with every missing, mis-shaped or mistyped tensor reported at once.
#pragma once

#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "ivl/status.h"
#include "model/weight_table.h"

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

struct ResolvedWeights {
  WeightTable table;
  std::vector<std::string> unused;  // checkpoint tensors no rule asked for
};

// Resolves `rules` against `checkpoint`. Fails with kInvalidArgument listing every missing
// required tensor, every shape mismatch (expected vs found, with the file), and with
// kUnsupported for tensors of a dtype the engine cannot compute with (only F32/F16/BF16).
Result<ResolvedWeights> resolve_weights(const std::vector<WeightRule>& rules,
                                        const io::Checkpoint& checkpoint);

}  // namespace ivl::model
