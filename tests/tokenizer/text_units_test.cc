// Unit tests of the text building blocks: UTF-8 repair, the ByteLevel alphabet, NFC and the
// added-token matcher.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <utf8proc.h>

#include "tokenizer/added_vocab.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_util.h"

namespace ivl::tok {
namespace {

using testing::escape;

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, ValidityFollowsTheUnicodeTable) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("na\xC3\xAFve \xE6\x97\xA5 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));
}

// One U+FFFD per maximal invalid subpart, as Rust's from_utf8_lossy and Python's
// errors="replace" do.
TEST(Utf8, LossyRepairReplacesMaximalSubparts) {
  EXPECT_EQ(lossy_utf8("a\xE2\x82"
                       "b"),
            "a" + kFffd + "b");                                  // truncated 3-byte: one
  EXPECT_EQ(lossy_utf8("\xE2\x82"), kFffd);                      // ... at the end too
  EXPECT_EQ(lossy_utf8("\xF0\x80"), kFffd + kFffd);              // F0 80 is never valid
  EXPECT_EQ(lossy_utf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate: three
  EXPECT_EQ(lossy_utf8("\xFF\xFE"), kFffd + kFffd);
  EXPECT_EQ(lossy_utf8("\xF0\x9F\x98"), kFffd);  // truncated emoji: one
  EXPECT_EQ(lossy_utf8("\xC3\xA9\x80"), "\xC3\xA9" + kFffd);
  EXPECT_EQ(lossy_utf8("ok \xF0\x9F\x98\x80"), "ok \xF0\x9F\x98\x80");
}

TEST(ByteLevel, EveryByteRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string encoded;
  append_byte_level(all, &encoded);
  EXPECT_TRUE(is_valid_utf8(encoded));
  std::string decoded;
  EXPECT_TRUE(append_byte_level_decoded(encoded, &decoded));
  EXPECT_EQ(decoded, all);
  EXPECT_EQ(byte_to_char(' '), U'\u0120');   // "Ġ"
  EXPECT_EQ(byte_to_char('\n'), U'\u010A');  // "Ċ"
  EXPECT_EQ(byte_to_char('A'), U'A');
}

TEST(ByteLevel, TokensOutsideTheAlphabetDecodeToTheirOwnBytes) {
  std::string out;
  EXPECT_FALSE(append_byte_level_decoded("a b", &out));  // a plain space is not in it
  EXPECT_EQ(out, "a b");
}

// Every code point the fast path treats as NFC-stable really is its own NFC.
TEST(Nfc, StableCodePointsAreTheirOwnNfc) {
  size_t checked = 0;
  for (char32_t cp = 0x300; cp <= 0x10FFFF; ++cp) {
    if (!is_nfc_stable(cp)) continue;
    const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
    if (category == UTF8PROC_CATEGORY_CN || category == UTF8PROC_CATEGORY_CO) continue;
    std::string s;
    append_utf8(cp, &s);
    utf8proc_uint8_t* nfc = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
    ASSERT_NE(nfc, nullptr);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(nfc)), s) << "U+" << std::hex << uint32_t{cp};
    std::free(nfc);
    ++checked;
  }
  EXPECT_GT(checked, 100000u);
  EXPECT_FALSE(is_nfc_stable(0x0301));  // combining acute
  EXPECT_FALSE(is_nfc_stable(0x2000));  // singleton -> U+2002
  EXPECT_FALSE(is_nfc_stable(0x1161));  // Hangul vowel: composes with a preceding L
  EXPECT_FALSE(is_nfc_stable(0x09BE));  // Bengali AA: second half of U+09CB
  EXPECT_TRUE(is_nfc_stable(0xAC00));   // Hangul syllable
  EXPECT_TRUE(is_nfc_stable(0x00E9));   // precomposed e-acute
}

// The split-at-stable-code-points NFC equals utf8proc's NFC of the whole string.
TEST(Nfc, FastPathEqualsUtf8procOnRandomText) {
  const std::vector<char32_t> pool = {
      'a',    'e',     'u',    'A',    ' ',     '<',    0xE9,   0xFC,   0x1EB9, 0x0300, 0x0301,
      0x0308, 0x0323,  0x0338, 0x0340, 0x0344,  0x0591, 0x05B4, 0x093C, 0x0928, 0x09C7, 0x09BE,
      0x09D7, 0x0B47,  0x0B3E, 0x1100, 0x1161,  0x11A8, 0xAC00, 0xAC01, 0x2000, 0x212B, 0x0F73,
      0x4E00, 0x1F600, 0x3099, 0x304B, 0x1D15E, 0x0345, 0x0CC6, 0x0CD5, 0x0DD9, 0x0DCF, 0x3000};
  const Normalizer nfc({NormalForm::kNfc});
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s;
    const int n = static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) append_utf8(pool[rng() % pool.size()], &s);
    utf8proc_uint8_t* ref = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
    ASSERT_NE(ref, nullptr);
    const std::string expected(reinterpret_cast<char*>(ref));
    std::free(ref);
    ASSERT_EQ(nfc.apply(s), expected) << escape(s);
  }
}

// --- added tokens: Hugging Face AddedVocabulary semantics ---

std::vector<std::pair<std::string, int32_t>> split(const AddedVocab& vocab, std::string_view text) {
  std::vector<TextSegment> segments;
  vocab.raw_matcher().split(text, &segments);
  std::vector<std::pair<std::string, int32_t>> out;
  for (const TextSegment& s : segments) {
    out.emplace_back(std::string(text.substr(s.begin, s.end - s.begin)), s.id);
  }
  return out;
}

AddedVocab build(std::vector<AddedToken> tokens) {
  auto v = AddedVocab::build(std::move(tokens), Normalizer(), {}, "test");
  EXPECT_TRUE(v.ok()) << v.status().to_string();
  return std::move(v).value();
}

AddedToken token(std::string content, int32_t id, bool lstrip = false, bool rstrip = false,
                 bool single_word = false) {
  AddedToken t;
  t.content = std::move(content);
  t.id = id;
  t.lstrip = lstrip;
  t.rstrip = rstrip;
  t.single_word = single_word;
  return t;
}

using Segments = std::vector<std::pair<std::string, int32_t>>;

TEST(AddedTokens, LongestMatchFirstAndPlainTextBetween) {
  const AddedVocab v = build({token("<a>", 10), token("<a><b>", 11), token("<b>", 12)});
  EXPECT_EQ(split(v, "x<a><b>y<a>"), (Segments{{"x", -1}, {"<a><b>", 11}, {"y", -1}, {"<a>", 10}}));
  EXPECT_EQ(split(v, "<a<b>"), (Segments{{"<a", -1}, {"<b>", 12}}));
  EXPECT_EQ(split(v, ""), Segments{});
}

TEST(AddedTokens, StripFlagsSwallowWhiteSpace) {
  const AddedVocab v =
      build({token("[CLS]", 1), token("[SEP]", 2), token("my", 3, true, true), token("name", 4)});
  EXPECT_EQ(split(v, "[CLS] my name is anthony [SEP]"),
            (Segments{{"[CLS]", 1}, {" my ", 3}, {"name", 4}, {" is anthony ", -1}, {"[SEP]", 2}}));
}

TEST(AddedTokens, SingleWordNeedsNonWordNeighbours) {
  const AddedVocab v = build({token("<mask>", 5, false, false, true)});
  EXPECT_EQ(split(v, "<mask> My name <mask> A<mask> <mask>ony <mask>"),
            (Segments{{"<mask>", 5},
                      {" My name ", -1},
                      {"<mask>", 5},
                      {" A<mask> <mask>ony ", -1},
                      {"<mask>", 5}}));
  // Punctuation is not a word character, a combining mark is.
  EXPECT_EQ(
      split(v, "<mask>, <mask>- \xE2\x97\x8C\xCC\xB0<mask>"),
      (Segments{{"<mask>", 5}, {", ", -1}, {"<mask>", 5}, {"- \xE2\x97\x8C\xCC\xB0<mask>", -1}}));
}

TEST(AddedTokens, StripUsesUnicodeWhiteSpace) {
  const AddedVocab v = build({token("<mask>", 5, true, true, true)});
  EXPECT_EQ(split(v, "Hi <mask> there\t<mask>\t<mask>\xE2\x80\x80"),
            (Segments{{"Hi", -1},
                      {" <mask> ", 5},
                      {"there", -1},
                      {"\t<mask>\t", 5},
                      {"<mask>\xE2\x80\x80", 5}}));
}

TEST(AddedTokens, ConflictingIdsAreErrors) {
  auto same_content = AddedVocab::build({token("<x>", 1), token("<x>", 2)}, Normalizer(), {}, "f");
  ASSERT_FALSE(same_content.ok());
  EXPECT_NE(same_content.status().message().find("two ids"), std::string::npos);
  auto same_id = AddedVocab::build({token("<x>", 1), token("<y>", 1)}, Normalizer(), {}, "f");
  ASSERT_FALSE(same_id.ok());
  EXPECT_NE(same_id.status().message().find("used by both"), std::string::npos);
}

TEST(AddedTokens, NormalizedTokensMatchTheNormalizedText) {
  AddedToken t = token("e\xCC\x81", 7);  // "é" decomposed; NFC'd into U+00E9 for matching
  t.normalized = true;
  auto v = AddedVocab::build({t}, Normalizer({NormalForm::kNfc}), {}, "test");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->raw_matcher().empty());
  std::vector<TextSegment> segments;
  v->normalized_matcher().split("caf\xC3\xA9", &segments);
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[1].id, 7);
}

}  // namespace
}  // namespace ivl::tok
