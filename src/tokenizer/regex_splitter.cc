#include "tokenizer/regex_splitter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>

namespace ivl::tok {

struct RegexSplitter::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

namespace {

// Per-thread PCRE2 scratch: match data with room for the whole-match offsets, and a JIT stack
// big enough for long runs of white space.
struct ThreadScratch {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  ThreadScratch() {
    if (stack != nullptr && context != nullptr) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadScratch() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(data);
  }
  ThreadScratch(const ThreadScratch&) = delete;
  ThreadScratch& operator=(const ThreadScratch&) = delete;
};

ThreadScratch& scratch() {
  thread_local ThreadScratch s;
  return s;
}

size_t utf8_char_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

}  // namespace

Result<RegexSplitter> RegexSplitter::compile(std::string_view pattern, std::string_view source) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    return Status::corrupt(std::string(source) + ": the pre-tokenizer regex does not compile (" +
                           reinterpret_cast<const char*>(message) + " at offset " +
                           std::to_string(offset) + "): " + std::string(pattern));
  }
  auto holder = std::make_shared<Code>();
  holder->code = code;
  holder->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return RegexSplitter(std::move(holder));
}

void RegexSplitter::split(std::string_view text,
                          std::vector<std::pair<size_t, size_t>>* pieces) const {
  ThreadScratch& s = scratch();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const size_t end = text.size();
  size_t emitted = 0;  // end of the last piece
  size_t search = 0;
  while (search < end) {
    int rc = code_->jit ? pcre2_jit_match(code_->code, subject, end, search, 0, s.data, s.context)
                        : pcre2_match(code_->code, subject, end, search, PCRE2_NO_UTF_CHECK, s.data,
                                      s.context);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      // Pathological input for the JIT stack: the interpreter keeps its backtracking state
      // on the heap instead.
      rc = pcre2_match(code_->code, subject, end, search, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, s.data,
                       s.context);
    }
    // No further match, or a PCRE2 resource limit (match/heap limit, which the Qwen pattern
    // does not reach): the rest becomes one piece.
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(s.data);
    const size_t match_begin = ov[0];
    const size_t match_end = ov[1];
    if (match_end == match_begin) {  // empty match: nothing to isolate, step over one char
      if (match_begin >= end) break;
      search = match_begin + utf8_char_length(static_cast<unsigned char>(text[match_begin]));
      continue;
    }
    if (match_begin > emitted) pieces->emplace_back(emitted, match_begin);
    pieces->emplace_back(match_begin, match_end);
    emitted = search = match_end;
  }
  if (emitted < end) pieces->emplace_back(emitted, end);
}

}  // namespace ivl::tok
