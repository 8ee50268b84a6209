// IVL_CHECK: for programming errors (broken invariants), never for bad input — that is a Status.
#pragma once

namespace ivl::detail {
[[noreturn]] void check_failed(const char* expr, const char* file, int line, const char* msg);
}  // namespace ivl::detail

#define IVL_CHECK(cond)                                                      \
  do {                                                                       \
    if (!(cond)) ::ivl::detail::check_failed(#cond, __FILE__, __LINE__, ""); \
  } while (0)

#define IVL_CHECK_MSG(cond, msg)                                                \
  do {                                                                          \
    if (!(cond)) ::ivl::detail::check_failed(#cond, __FILE__, __LINE__, (msg)); \
  } while (0)
