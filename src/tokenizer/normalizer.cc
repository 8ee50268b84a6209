#include "tokenizer/normalizer.h"

#include <cstdint>
#include <cstdlib>

#include <utf8proc.h>

#include "core/check.h"
#include "tokenizer/utf8.h"

namespace ivl::tok {
namespace {

constexpr char32_t kMaxCodePoint = 0x10FFFF;

std::string run_utf8proc(NormalForm form, std::string_view text);

// The code points NFC leaves unchanged in every context: starters (combining class 0) whose
// canonical decomposition, if any, recomposes to themselves, and that never combine with a
// preceding character. Text made only of such code points is already in NFC, which lets
// apply() skip utf8proc for almost all real text (CJK, Cyrillic, emoji, ...). Built once,
// from utf8proc's own tables, in a few milliseconds. (tokenizer_test checks every member
// against utf8proc's NFC.)
class NfcStableSet {
 public:
  NfcStableSet() : bits_((kMaxCodePoint + 64) / 64, 0) {
    std::vector<bool> second(kMaxCodePoint + 1, false);
    utf8proc_int32_t buf[16];
    for (char32_t cp = 0; cp <= kMaxCodePoint; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;  // surrogates never occur in valid UTF-8
      const auto* prop = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
      bool stable = prop->combining_class == 0;
      if (prop->decomp_seqindex != UINT16_MAX) {  // has a (canonical or compatibility) mapping
        int boundclass = 0;
        const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf,
                                                           16, UTF8PROC_DECOMPOSE, &boundclass);
        if (n > 1 || (n == 1 && buf[0] != static_cast<utf8proc_int32_t>(cp))) {
          // Canonically decomposable: stable only if NFC recomposes it (not a singleton, an
          // excluded composite or a non-starter decomposition), which utf8proc decides.
          std::string one;
          append_utf8(cp, &one);
          stable = stable && run_utf8proc(NormalForm::kNfc, one) == one;
          for (utf8proc_ssize_t k = 1; k < n && k < 16; ++k) {
            second[static_cast<size_t>(buf[k])] = true;
          }
        }
      }
      if (stable) bits_[cp / 64] |= uint64_t{1} << (cp % 64);
    }
    // Hangul syllables compose algorithmically: vowel and trailing jamo are second parts.
    for (char32_t cp = 0x1161; cp <= 0x1175; ++cp) second[cp] = true;
    for (char32_t cp = 0x11A8; cp <= 0x11C2; ++cp) second[cp] = true;
    for (char32_t cp = 0; cp <= kMaxCodePoint; ++cp) {
      if (second[cp]) bits_[cp / 64] &= ~(uint64_t{1} << (cp % 64));
    }
  }

  bool contains(char32_t cp) const {
    return cp <= kMaxCodePoint && ((bits_[cp / 64] >> (cp % 64)) & 1) != 0;
  }

 private:
  std::vector<uint64_t> bits_;
};

const NfcStableSet& nfc_stable_set() {
  static const NfcStableSet set;
  return set;
}

bool is_ascii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string run_utf8proc(NormalForm form, std::string_view text) {
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::kNfc:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalForm::kNfd:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalForm::kNfkc:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalForm::kNfkd:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          static_cast<utf8proc_ssize_t>(text.size()), &out,
                                          static_cast<utf8proc_option_t>(options));
  // The caller validated the UTF-8, so only allocation failure is left, which we treat like
  // any other out-of-memory condition.
  IVL_CHECK_MSG(n >= 0, utf8proc_errmsg(n));
  std::string result(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  std::free(out);
  return result;
}

// NFC, splitting the text at stable code points: NFC(X S Y) == X' + NFC(S Y) when S is stable
// (nothing reorders across a starter, and S combines with nothing before it). Only the short
// spans from the last stable code point before an unstable one to the next stable one go
// through utf8proc; everything else is copied, or not touched at all when nothing changes.
std::string_view nfc(std::string_view text, std::string* storage) {
  const NfcStableSet& stable = nfc_stable_set();
  auto next = [&](size_t i, char32_t* cp) -> size_t {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      *cp = b;
      return 1;
    }
    return decode_utf8(text, i, cp);
  };
  size_t i = 0;
  size_t boundary = 0;  // start of the last stable code point seen
  size_t copied = 0;    // text[0, copied) is already in *storage
  bool changed = false;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {  // ASCII is stable
      boundary = i++;
      continue;
    }
    char32_t cp = 0;
    const size_t len = next(i, &cp);
    if (stable.contains(cp)) {
      boundary = i;
      i += len;
      continue;
    }
    size_t end = i + len;
    while (end < text.size()) {
      const size_t l = next(end, &cp);
      if (stable.contains(cp)) break;
      end += l;
    }
    if (!changed) {
      storage->clear();
      storage->reserve(text.size() + 16);
      changed = true;
    }
    storage->append(text.substr(copied, boundary - copied));
    storage->append(run_utf8proc(NormalForm::kNfc, text.substr(boundary, end - boundary)));
    copied = boundary = i = end;
  }
  if (!changed) return text;
  storage->append(text.substr(copied));
  return *storage;
}

}  // namespace

bool is_nfc_stable(char32_t cp) {
  return nfc_stable_set().contains(cp);
}

Normalizer::Normalizer(std::vector<NormalForm> steps) : steps_(std::move(steps)) {
  for (NormalForm form : steps_) {
    if (form == NormalForm::kNfc) nfc_stable_set();  // build it now rather than mid-encode
  }
}

std::string Normalizer::apply(std::string_view text) const {
  std::string storage;
  return std::string(apply(text, &storage));
}

std::string_view Normalizer::apply(std::string_view text, std::string* storage) const {
  std::string_view current = text;
  std::string scratch;
  for (NormalForm form : steps_) {
    if (form == NormalForm::kNfc) {
      std::string_view out = nfc(current, &scratch);
      if (out.data() == scratch.data()) {
        storage->swap(scratch);
        current = *storage;
      }
      continue;
    }
    if (is_ascii(current)) continue;
    *storage = run_utf8proc(form, current);
    current = *storage;
  }
  return current;
}

}  // namespace ivl::tok
