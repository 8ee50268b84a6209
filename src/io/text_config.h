// Internal: parsing of the LLM part of config.json (`llm_config` / `text_config`).
#pragma once

#include <string>
#include <vector>

#include "io/json_util.h"
#include "io/model_config.h"

namespace ivl::io {

// Field errors go to the reader's error list; unsupported values (an unknown RoPE type) to
// `unsupported`, so the caller can return kUnsupported rather than kInvalidArgument.
TextConfig parse_text_config(FieldReader& reader, std::vector<std::string>* unsupported);

}  // namespace ivl::io
