// URI schemes to transports. Core never names a family: each transport adds
// itself, and the program decides which transports it links.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "anysock/any_link.hpp"
#include "anysock/error.hpp"
#include "anysock/message_kind.hpp"
#include "anysock/server.hpp"
#include "anysock/uri.hpp"

namespace anysock {

using listener_list = std::vector<std::unique_ptr<listener>>;

// What `anysock send` sends when given no message (ASCII, then UTF-8 beyond
// it); a frame family's default_messages cuts these into its own messages.
inline const std::vector<std::string>& greeting_messages() {
  static const std::vector<std::string> m{"Hello, world", "汉语/漢語 Hànyǔ"};
  return m;
}

// What a bridge must know of a family's messages (bridge_config.hpp).
struct payload_shape {
  message_kind carries = message_kind::bytes;
  std::size_t max_message = 0;
};

struct transport {
  std::string scheme;           // "tcp"
  std::string summary;          // one line for --help
  std::string listen_example;   // "tcp://[::]:50007"
  std::string connect_example;  // "tcp://[::1]:50007"
  std::string options_help;     // "v6only=1, nodelay=0, backlog=N"
  // Checks a URI's authority and options without touching the network, so
  // a typo is one error line before any work starts.
  std::function<result<void>(const uri&)> validate;
  // The endpoint can be bound once per thread (SO_REUSEPORT; the URI option
  // reuseport=1), so `serve -t N` gives each thread its own listener.
  bool listens_per_thread = false;
  // Bind the endpoint named by the URI; one listener per bound socket.
  std::function<result<listener_list>(const uri&, asio::io_context&)> listen;
  // Optional, for frame families: a message as the user types it (e.g.
  // `123#DEADBEEF`); the default takes the text as its bytes.
  std::function<result<message>(const uri&, std::string_view)> parse_message;
  // Optional: what `send` sends when given no message (default: greeting_messages()).
  std::function<std::vector<message>(const uri&)> default_messages;
  // Optional: how a received echo is printed (default: its bytes as text).
  std::function<std::string(const uri&, const message&)> format_message;
  // Connect to the endpoint named by the URI.
  std::function<asio::awaitable<result<std::unique_ptr<any_link>>>(const uri&, asio::any_io_executor)>
      connect;
  message_kind carries = message_kind::bytes;
  // The largest message one send carries (0: a stream, any size): a bridge
  // cuts a stream into messages no larger than this.
  std::size_t max_message = 0;
  // Optional: the endpoint opened for a bridge, where its links pass every
  // message on as it is instead of answering it (a CAN bus: every frame, its
  // ID kept, rather than an echo responder's requests). Default: listen and
  // connect.
  std::function<result<listener_list>(const uri&, asio::io_context&)> bridge_listen;
  std::function<asio::awaitable<result<std::unique_ptr<any_link>>>(const uri&, asio::any_io_executor)>
      bridge_connect;
  std::function<result<void>(const uri&)> bridge_validate;
  // Optional: carries and max_message for one URI, where an option decides
  // them (mqtt://...?kind=messages carries ISO-TP-sized messages, not frames).
  std::function<payload_shape(const uri&)> shape_for;
};

// What the URI's messages are: shape_for's answer, else carries and max_message.
payload_shape shape(const transport& t, const uri& u);

// Adapters from a transport's own functions to the hooks above, so that a
// registration is one line per hook.
// validate: a parser of the URI (result<anything>); its error is the answer.
template <auto Parse>
result<void> validate_with(const uri& u) {
  if (auto r = Parse(u); !r) return r.err();
  return {};
}
// connect: a coroutine yielding the transport's own link.
template <auto Connect>
asio::awaitable<result<std::unique_ptr<any_link>>> connect_as_any_link(const uri& u, asio::any_io_executor ex) {
  auto r = co_await Connect(u, ex);
  if (!r) co_return r.err();
  co_return make_any_link(std::move(r).value());
}

// What an endpoint is opened for: the echo (serve, send, bench) or a bridge
// (the transport's bridge hooks, where it has them).
enum class endpoint_use { echo, bridge };
result<listener_list> listen(const transport& t, const uri& u, asio::io_context& io,
                             endpoint_use use = endpoint_use::echo);
result<void> validate(const transport& t, const uri& u, endpoint_use use = endpoint_use::echo);

class registry;
// The twin of connect(reg, uri, timeout) (client.hpp): parses the URI, finds
// its transport, checks its options and binds it; one error line for
// whichever step fails.
result<listener_list> listen(const registry& reg, std::string_view uri_text, asio::io_context& io,
                             endpoint_use use = endpoint_use::echo);

class registry {
 public:
  // Replaces a transport of the same scheme.
  void add(transport t);
  const transport* find(std::string_view scheme) const;
  const std::vector<transport>& all() const { return transports_; }

  // The URI parsed and its transport found, or one error line naming the
  // schemes that exist.
  result<const transport*> resolve(const uri& u) const;

  // For --help: each scheme with a summary and an example.
  std::string describe() const;

 private:
  std::vector<transport> transports_;
};

}  // namespace anysock
