// Status and Result<T>: how every expected failure travels in internvl.cpp.
//
// Contract:
//  - Functions that can fail for reasons outside the program's control (a missing or corrupt
//    file, an unsupported config value, bad user input) return Status or Result<T>; both are
//    [[nodiscard]]. Programming errors abort through IVL_CHECK (src/core/check.h) instead.
//  - A message names the thing that failed (file, tensor, config field) and, where possible,
//    what the user can do about it. Callers add context with Status::with_context().
//  - Status and Result are cheap to move, safe to copy, and carry no thread affinity.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ivl {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller's input is malformed (request, prompt, option)
  kNotFound,           // a file, tensor, token or field that must exist does not
  kIoError,            // the OS refused: open/read/mmap failed
  kCorruptData,        // a file exists but its content is inconsistent or truncated
  kUnsupported,        // well-formed, but this engine does not implement it
  kOutOfRange,         // a value exceeds an explicit limit (context length, pixels, size)
  kResourceExhausted,  // out of memory, queue full
  kCancelled,          // the caller cancelled the work
  kInternal,           // a third-party library failed in a way we could not classify
};

// Human-readable name of a code, e.g. "corrupt data".
std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }
  static Status invalid_argument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status corrupt(std::string m) { return {StatusCode::kCorruptData, std::move(m)}; }
  static Status unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status out_of_range(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status resource_exhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "<context>: <message>" with the same code; OK stays OK.
  Status with_context(std::string_view context) const;

  // "corrupt data: <message>", or "OK".
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-OK Status. Accessing value() of an error aborts (a bug, not input).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(data_).ok()) {
      data_ = Status::internal("Result constructed from an OK status without a value");
    }
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(data_);
  }

  T& value() & { return checked(); }
  const T& value() const& { return const_cast<Result*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->checked(); }
  T& operator*() & { return checked(); }
  const T& operator*() const& { return const_cast<Result*>(this)->checked(); }

 private:
  T& checked();
  std::variant<T, Status> data_;
};

[[noreturn]] void result_value_of_error(const Status& status);

template <typename T>
T& Result<T>::checked() {
  if (!ok()) result_value_of_error(std::get<Status>(data_));
  return std::get<T>(data_);
}

}  // namespace ivl

#define IVL_STATUS_CONCAT_INNER_(a, b) a##b
#define IVL_STATUS_CONCAT_(a, b) IVL_STATUS_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define IVL_RETURN_IF_ERROR(expr)                      \
  do {                                                 \
    ::ivl::Status ivl_status_tmp_ = (expr);            \
    if (!ivl_status_tmp_.ok()) return ivl_status_tmp_; \
  } while (0)

// `IVL_ASSIGN_OR_RETURN(auto x, make_x());` — declares/assigns from a Result or returns its error.
#define IVL_ASSIGN_OR_RETURN(lhs, expr) \
  IVL_ASSIGN_OR_RETURN_IMPL_(IVL_STATUS_CONCAT_(ivl_result_, __LINE__), lhs, expr)
#define IVL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
