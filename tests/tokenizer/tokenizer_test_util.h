// Helpers shared by the tokenizer tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "support/fixtures.h"
#include "tokenizer/tokenizer.h"

namespace ivl::tok::testing {

// `s` with control characters and everything outside printable ASCII written as \u{XXXX}
// (invalid UTF-8 bytes as \xNN), for readable failure messages.
std::string escape(std::string_view s);

std::string format_ids(const std::vector<int32_t>& ids);

// Loads (once per process) the tokenizer of fixture model `name`; throws when it fails.
const Tokenizer& fixture_tokenizer(const std::string& name);

void write_file(const std::filesystem::path& path, std::string_view bytes);

}  // namespace ivl::tok::testing
