// StreamDecoder: the "prefix window" scheme of Hugging Face text-generation-inference.
//
// Why it is exact for byte-level BPE: lossy UTF-8 decoding of A+B equals decode(A) + decode(B)
// whenever A ends on a character boundary. The window only advances after a decode that did
// not end in U+FFFD, i.e. at such a boundary, so the pieces returned add up to decode(all).
// For SentencePiece the window keeps one earlier piece as context, so the word-initial "▁" of
// the next piece is rendered as the space it is mid-text.
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace ivl::tok {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(&tokenizer), skip_special_(skip_special_tokens) {}

std::string StreamDecoder::push(int32_t id) {
  ids_.push_back(id);
  std::string text = tokenizer_->decode(ids_, skip_special_);
  if (text.size() <= prefix_bytes_ || text.ends_with(kReplacementChar)) return {};
  std::string fresh = text.substr(prefix_bytes_);
  // Slide: the ids just rendered become the context of the next window.
  ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(read_));
  read_ = ids_.size();
  prefix_bytes_ = tokenizer_->decode(ids_, skip_special_).size();
  return fresh;
}

std::string StreamDecoder::flush() {
  std::string text = tokenizer_->decode(ids_, skip_special_);
  std::string rest = text.size() > prefix_bytes_ ? text.substr(prefix_bytes_) : std::string();
  ids_.clear();
  read_ = 0;
  prefix_bytes_ = 0;
  return rest;
}

}  // namespace ivl::tok
