// OpenAI-style message lists -> Conversation + the images they reference.
//
// Accepted: a JSON array of {"role": "system"|"user"|"assistant", "content": C} where C is a
// string or a list of parts:
//   {"type": "text", "text": "..."}
//   {"type": "image", "path": "photo.jpg"}             (also "image": "photo.jpg")
//   {"type": "image_url", "image_url": {"url": U}}     U: a file path, file:// URL or data: URI
// An image part renders as "<image>\n" at its place in the message (spec §6.6), so images and
// placeholders always match. A system message may appear once, first. Images are allowed in
// user messages only. http(s) URLs are rejected: the engine never downloads anything.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ivl/status.h"
#include "prompt/conversation.h"

namespace ivl::prompt {

struct ImageSource {
  enum class Kind { kPath, kDataUri };
  Kind kind = Kind::kPath;
  std::string value;  // the path, or the whole data: URI
};

struct ParsedMessages {
  Conversation conversation;
  std::vector<ImageSource> images;  // in placeholder order
};

// kInvalidArgument naming the message index and field for every malformed input.
Result<ParsedMessages> parse_openai_messages(const nlohmann::json& messages);

}  // namespace ivl::prompt
