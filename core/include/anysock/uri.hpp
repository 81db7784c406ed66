// Endpoint names. Core reads only the generic shape
//   scheme://authority[/path][?key=value&...]
// and leaves the meaning of the authority to the transport that owns the
// scheme (an RFCOMM address has colons of its own, a CAN authority is an
// interface name). Helpers for the common host:port form live here too.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "anysock/error.hpp"

namespace anysock {

struct uri {
  std::string text;       // exactly as given, for messages
  std::string scheme;     // lower-cased
  std::string authority;  // raw, between "//" and the path or query
  std::string path;       // from the first '/' after the authority; may be empty
  std::vector<std::pair<std::string, std::string>> query;  // in order given

  // The value of a query option, or nullopt when it was not given.
  std::optional<std::string_view> option(std::string_view key) const;
};

result<uri> parse_uri(std::string_view text);

// Every option key must be in `known`; otherwise one error naming the bad key
// and listing the good ones.
result<void> check_options(const uri& u, std::initializer_list<std::string_view> known);

// A boolean option: 1/0, true/false, yes/no, on/off.
result<bool> bool_option(const uri& u, std::string_view key, bool fallback);

// An unsigned decimal option within [min, max].
result<std::uint64_t> uint_option(const uri& u, std::string_view key, std::uint64_t fallback,
                                  std::uint64_t min, std::uint64_t max);

struct host_port {
  std::string host;  // without brackets
  std::uint16_t port = 0;
  bool bracketed = false;  // the host was written as [literal]
};

// "[v6]:port", "v4:port" or "name:port". `example` completes the hint in
// error messages (e.g. "tcp://[::1]:50007").
result<host_port> split_host_port(const uri& u, std::string_view example);
// The same where the port may be left out (a protocol's well-known port:
// socketcand's 29536, MQTT's 1883); port 0 is refused, since a client
// names a server.
result<host_port> split_host_port(const uri& u, std::string_view example, std::uint16_t default_port);

// Inverse of split_host_port: brackets an IPv6 literal.
std::string join_host_port(std::string_view host, std::uint16_t port);

}  // namespace anysock
