// Errors are values: a std::error_code for programs plus one sentence for
// people. The CLI is the only place that turns them into text and an exit code.
#pragma once

#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace anysock {

enum class errc {
  bad_uri = 1,       // the text is not a URI we can read
  unknown_scheme,    // no transport registered for the scheme
  bad_option,        // a query option is unknown or its value is invalid
  echo_mismatch,     // the peer answered with different bytes
  timed_out,         // a client-side deadline passed
  peer_closed,       // the peer closed before the echo was complete
  unsupported,       // the transport cannot do what was asked
};

const std::error_category& anysock_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), anysock_category()};
}

// What went wrong, for programs (code) and for people (message: one line that
// says what is wrong and what to do about it).
struct error {
  std::error_code code;
  std::string message;
};

// A value or an error. Small on purpose: C++20 has no std::expected.
template <class T>
class result {
 public:
  result(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  result(error e) : v_(std::move(e)) {}               // NOLINT
  result(errc c, std::string msg) : v_(error{make_error_code(c), std::move(msg)}) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  const error& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

// Success with nothing to hand back, or an error.
template <>
class result<void> {
 public:
  result() = default;
  result(error e) : e_(std::move(e)) {}               // NOLINT: implicit by design
  result(errc c, std::string msg) : e_(error{make_error_code(c), std::move(msg)}) {}

  bool ok() const noexcept { return !e_; }
  explicit operator bool() const noexcept { return ok(); }
  const error& err() const { return *e_; }

 private:
  std::optional<error> e_;
};

}  // namespace anysock

template <>
struct std::is_error_code_enum<anysock::errc> : std::true_type {};
