#include "anysock/can/socketcand_uri.hpp"

#include <fmt/format.h>

#include "anysock/can/socketcand.hpp"

namespace anysock::can::socketcand {

result<remote> parse_remote(const uri& u, bool bridge) {
  const std::string example = "socketcand://127.0.0.1:29536/can0";
  remote r;
  auto hp = split_host_port(u, example, default_port);  // the port may be left out: socketcand's own
  if (!hp) return hp.err();
  r.host = hp->host;
  r.port = hp->port;
  r.bus = u.path.empty() ? std::string() : u.path.substr(1);
  // The name goes into `< open BUS >`: a space, `<` or `>` would end it early.
  if (r.bus.empty() || r.bus.find_first_of("/<> ") != std::string::npos || r.bus.size() >= 16)
    return error{make_error_code(errc::bad_uri),
                 fmt::format("{}: name the server's bus after the address, e.g. {}", u.text, example)};
  uri bus_uri = u;  // rx=, tx= read as can:// reads them
  bus_uri.authority = r.bus;
  auto c = bridge ? parse_raw_bridge(bus_uri) : parse_raw(bus_uri);
  if (!c) return c.err();
  if (c->errors)
    return error{make_error_code(errc::unsupported),
                 fmt::format("{}: err=1 is not carried over socketcand yet; error frames are the server's to "
                             "forward (anysock socketcand --err)",
                             u.text)};
  r.frames = std::move(c).value();
  return r;
}

}  // namespace anysock::can::socketcand
