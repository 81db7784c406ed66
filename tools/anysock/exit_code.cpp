#include <fmt/format.h>

#include "commands.hpp"

namespace anysock::cli {

int exit_code_for(const error& e) {
  if (e.code.category() == anysock_category()) {
    switch (static_cast<errc>(e.code.value())) {
      case errc::bad_uri:
      case errc::unknown_scheme:
      case errc::bad_option:
        return exit_usage;
      case errc::echo_mismatch:
      case errc::peer_closed:
        return exit_echo_failed;
      case errc::timed_out:
        return exit_timeout;
      case errc::unsupported:
        return exit_usage;
    }
  }
  return exit_network;
}

int fail(const error& e) {
  fmt::print(stderr, "anysock: {}\n", e.message);
  std::fflush(stderr);
  return exit_code_for(e);
}

error with_timeout_hint(error e, std::chrono::milliseconds timeout) {
  // The library says what timed out; the command line says how to wait
  // longer, where the limit met was --timeout's (a transport's own fixed
  // limit, such as socketcand's handshake, is not).
  if (e.code == make_error_code(errc::timed_out) &&
      e.message.find(fmt::format(" {} ms", timeout.count())) != std::string::npos)
    e.message += " (--timeout raises the limit)";
  return e;
}

}  // namespace anysock::cli
