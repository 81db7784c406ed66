// anysock bridge A B: every link A yields (each peer of a listener, or the
// one link of a bus) is bridged to B, connected or opened for it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "anysock/bridge.hpp"
#include "anysock/client.hpp"
#include "commands.hpp"

namespace anysock::cli {

int bridge(const registry& reg, const bridge_args& a) {
  const auto& uris = a.serving.uris;
  if (uris.size() != 2)
    return fail(error{make_error_code(errc::bad_option),
                      fmt::format("bridge takes two endpoints, A to listen on and B to connect to (got {}); "
                                  "e.g. anysock bridge tcp://[::]:2000 rfcomm://00:1A:7D:DA:71:13:1",
                                  uris.size())});
  auto ua = parse_uri(uris[0]);
  if (!ua) return fail(ua.err());
  auto ub = parse_uri(uris[1]);
  if (!ub) return fail(ub.err());
  auto ta = reg.resolve(*ua);
  if (!ta) return fail(ta.err());
  auto tb = reg.resolve(*ub);
  if (!tb) return fail(tb.err());
  // Every mistake in either URI is one line before anything is bound. A is
  // checked as a bridge side where its family has such a check (a CAN bus),
  // else by listening on it, as serve does (a transport's validate is the
  // client's: rfcomm://hci0:3 names a local adapter, no device to reach).
  if ((*ta)->bridge_validate)
    if (auto ok = validate(**ta, *ua, endpoint_use::bridge); !ok) return fail(ok.err());
  if (auto ok = validate(**tb, *ub, endpoint_use::bridge); !ok) return fail(ok.err());
  const payload_shape sa = shape(**ta, *ua), sb = shape(**tb, *ub);
  if (auto ok = check_bridgeable(*ua, sa.carries, *ub, sb.carries); !ok) return fail(ok.err());

  auto cfg = std::make_shared<bridge_config>();
  cfg->target = ub->text;
  cfg->once = a.once;
  cfg->queue_limit = a.queue;
  cfg->a_max_message = sa.max_message;
  cfg->b_max_message = sb.max_message;
  cfg->connect = [&reg, target = ub->text] {
    return connect(reg, target, std::chrono::seconds(10), endpoint_use::bridge);
  };
  serve_args listen_on = a.serving;
  listen_on.uris = {uris[0]};
  // A bus as B (an ISO-TP pair, a CAN bus) is one endpoint: every socket
  // opened on it hears every message, so two links of a listener A would
  // each get the other's replies. One at a time; the next is refused until
  // it ends. (A bus A yields one link anyway.)
  if (sa.carries == message_kind::bytes && sb.carries != message_kind::bytes && listen_on.max_links != 1) {
    if (listen_on.max_links != 0)
      spdlog::warn("{} is a bus endpoint every link would share: --max-links {} lowered to 1", ub->text,
                   listen_on.max_links);
    else
      spdlog::info("{} is a bus endpoint every link would share: one link of {} at a time", ub->text, ua->text);
    listen_on.max_links = 1;
  }
  return run_server(reg, listen_on, fmt::format("bridge to {}", ub->text), endpoint_use::bridge,
                    bridge_service{cfg}, [cfg](server& srv) {
                      cfg->give_up = [&srv](const std::string& why) { srv.fail(why + "; --once: giving up"); };
                    });
}

}  // namespace anysock::cli
