// What a server runs on each link it admits. Core's services (the echo, the
// bridge) are templates over the link type: the listener, instantiated per
// transport, starts them on the transport's own link, so a message costs no
// virtual call. Any other service takes the link type-erased.
#pragma once

#include <functional>
#include <memory>
#include <variant>

#include "anysock/any_link.hpp"
#include "anysock/bridge.hpp"
#include "anysock/echo.hpp"
#include "anysock/session.hpp"

namespace anysock {

// Every message back to where it came from (echo.hpp).
struct echo_service {};

// Every message on to a second endpoint, and back (bridge.hpp).
struct bridge_service {
  std::shared_ptr<const bridge_config> config;
};

// Anything else, on an any_link: `start` owns the link until it calls done.
struct erased_service {
  std::function<void(std::unique_ptr<any_link>, session&, std::function<void(error_code)> done)> start;
};

using link_service = std::variant<echo_service, bridge_service, erased_service>;

// Starts `svc` on `l`; `done(why)` once the link is over.
template <link L, class Done>
void start_service(const link_service& svc, L l, session& s, Done done) {
  if (auto* b = std::get_if<bridge_service>(&svc))
    return start_bridge(std::move(l), s, b->config, std::move(done));
  if (auto* e = std::get_if<erased_service>(&svc)) return e->start(make_any_link(std::move(l)), s, std::move(done));
  start_echo(std::move(l), s, std::move(done));
}

}  // namespace anysock
