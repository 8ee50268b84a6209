// Unicode normalisation steps a tokenizer.json `normalizer` may ask for (NFC, NFD, NFKC, NFKD,
// or a Sequence of them), implemented with utf8proc. Immutable; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ivl::tok {

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };

// True when NFC leaves code point `cp` unchanged whatever surrounds it (a starter that is its
// own NFC and never combines with what precedes it). Text made of such code points, or of
// code points below U+0300, is already NFC.
bool is_nfc_stable(char32_t cp);

class Normalizer {
 public:
  Normalizer() = default;  // identity
  explicit Normalizer(std::vector<NormalForm> steps);

  bool is_identity() const { return steps_.empty(); }

  // Applies every step in order. `text` must be valid UTF-8. Text that a step cannot change
  // (ASCII; for NFC, text passing the quick check below) is not passed to utf8proc.
  std::string apply(std::string_view text) const;
  // The same without a copy when nothing changes: returns `text` itself, or a view of
  // `*storage`, which then holds the normalised text.
  std::string_view apply(std::string_view text, std::string* storage) const;

 private:
  std::vector<NormalForm> steps_;
};

}  // namespace ivl::tok
