// Streaming reader for the large JSON files of a BPE tokenizer (tokenizer.json, vocab.json).
//
// Building an nlohmann DOM for a 150k-entry vocabulary and merge list costs ~4x the parse
// itself (one heap node per entry, then copying them out again); this reader uses nlohmann's
// SAX interface instead and decodes the two tables straight into a BpeSpec, while every other
// part of the document is built as an ordinary (small) DOM.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ivl/status.h"
#include "tokenizer/bpe_model.h"

namespace ivl::tok {

struct BpeTablePaths {
  // Key paths from the root; an empty path is the root itself. The object at `vocab` must map
  // tokens to integer ids; the array at `merges` holds "left right" strings or
  // ["left", "right"] pairs. A path that is not given (nullptr) is read into the DOM as usual.
  const std::vector<std::string>* vocab = nullptr;
  const std::vector<std::string>* merges = nullptr;
};

struct BpeJsonDocument {
  nlohmann::json rest;  // the document without the two tables (null when the root is one)
  bool has_vocab = false;
  bool has_merges = false;
};

// Reads and parses `file`, appending the tables to spec->vocab / spec->merges. Errors name the
// file: kNotFound / kIoError from reading, kCorruptData for malformed JSON (with the byte
// offset) or a table entry of the wrong type (with its key path).
Result<BpeJsonDocument> read_bpe_json(const std::filesystem::path& file, BpeTablePaths paths,
                                      BpeSpec* spec);

}  // namespace ivl::tok
