// Where an image comes from: a file path, bytes in memory (the server's uploads), or a
// `data:` URI (RFC 2397, as OpenAI-style requests send images). All three end in
// decode_image() (decode.h) with the same limits; errors name the source.
//
// Thread safety: reentrant, no shared state.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ivl/status.h"
#include "vision/decode.h"
#include "vision/image.h"

namespace ivl::vision {

// Reads and decodes the file at `path` (memory-mapped, not copied). kNotFound / kIoError
// when the file cannot be read; decode errors as in decode_image, prefixed with the path.
Result<RgbImage> load_image_file(const std::string& path, const DecodeLimits& limits = {});

// Decodes an in-memory file; `name` prefixes errors (e.g. "upload 'cat.jpg'").
Result<RgbImage> load_image_bytes(std::span<const std::byte> bytes, const DecodeLimits& limits = {},
                                  std::string_view name = "image bytes");

// `data:[<media type>][;base64],<data>`. The payload may be base64 (standard alphabet, '='
// padding optional, ASCII whitespace ignored) or percent-encoded. The media type is not
// trusted: the format is sniffed from the decoded bytes. kInvalidArgument for a malformed URI
// or payload, naming the offending position.
Result<RgbImage> load_image_data_uri(std::string_view uri, const DecodeLimits& limits = {});

// A `data:` URI goes to load_image_data_uri, anything else is a file path.
Result<RgbImage> load_image(std::string_view path_or_uri, const DecodeLimits& limits = {});

// Strict base64 decoding (RFC 4648 standard alphabet). Whitespace is skipped; '=' padding may
// be omitted but, when present, must end the input. kInvalidArgument names the first bad
// character and its offset.
Result<std::vector<std::byte>> decode_base64(std::string_view text);

}  // namespace ivl::vision
