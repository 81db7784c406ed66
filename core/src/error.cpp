#include "anysock/error.hpp"

namespace anysock {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "anysock"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::bad_uri: return "malformed URI";
      case errc::unknown_scheme: return "unknown URI scheme";
      case errc::bad_option: return "bad option";
      case errc::echo_mismatch: return "echo did not match what was sent";
      case errc::timed_out: return "timed out";
      case errc::peer_closed: return "peer closed the connection";
      case errc::unsupported: return "not supported by this transport";
    }
    return "unknown anysock error";
  }
};

}  // namespace

const std::error_category& anysock_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace anysock
