#include "anysock/tcp/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fmt/format.h>

namespace anysock::tcp {
namespace {
constexpr std::string_view example = "tcp://[::1]:50007";
}

result<endpoint_spec> parse(const uri& u) {
  if (auto ok = check_options(u, {"v6only", "nodelay", "backlog", "reuseport"}); !ok) return ok.err();
  if (!u.path.empty() && u.path != "/")
    return error{make_error_code(errc::bad_uri),
                 fmt::format("bad URI '{}': tcp:// takes no path ('{}'); write e.g. {}", u.text, u.path,
                             example)};
  auto hp = split_host_port(u, example);
  if (!hp) return hp.err();
  endpoint_spec spec;
  spec.host = hp->host;
  spec.port = hp->port;
  auto v6only = bool_option(u, "v6only", false);
  if (!v6only) return v6only.err();
  auto nodelay = bool_option(u, "nodelay", true);
  if (!nodelay) return nodelay.err();
  auto backlog = uint_option(u, "backlog", SOMAXCONN, 1, 65535);
  if (!backlog) return backlog.err();
  spec.opts.v6only = *v6only;
  spec.opts.nodelay = *nodelay;
  spec.opts.backlog = static_cast<int>(*backlog);
  auto reuseport = bool_option(u, "reuseport", false);
  if (!reuseport) return reuseport.err();
  spec.opts.reuseport = *reuseport;
  in6_addr a6{};
  // inet_pton reads up to a NUL: a host with one inside is no address either.
  if (hp->bracketed && (spec.host.find('\0') != std::string::npos || inet_pton(AF_INET6, spec.host.c_str(), &a6) != 1))
    return error{make_error_code(errc::bad_uri),
                 fmt::format("bad URI '{}': '[{}]' is not an IPv6 address; write e.g. {}", u.text,
                             spec.host, example)};
  return spec;
}

}  // namespace anysock::tcp
