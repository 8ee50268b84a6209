// The chat() inputs behind each case of ../shared/fixtures/reference/<model>.json.
//
// The fixture records the rendered query, not the question and history that produced it, so the
// inputs are restated here from the fixture README's description of each case; every expected
// value (query, ids, sha256) is read from the fixture.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "prompt/conversation.h"

namespace ivl::test {

struct ReferenceCase {
  std::string name;
  prompt::ChatTurns turns;
  std::vector<int64_t> num_patches;  // from the fixture
  nlohmann::json expected;           // the fixture's case object
};

// All cases of `model` ("tiny-internvl3-qwen2", ...); throws if a fixture case has no inputs here.
std::vector<ReferenceCase> reference_cases(const std::string& model);

// The expanded prompt with each run of 256 <IMG_CONTEXT> written as <IMG_CONTEXT*256>, the
// fixture's shorthand.
std::string abbreviate_image_context(const std::string& prompt);

}  // namespace ivl::test
