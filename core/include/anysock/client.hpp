// The client side of an echo, for any transport: send messages, check that
// exactly the same bytes come back. Used by `anysock send` and the examples.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "anysock/any_link.hpp"
#include "anysock/error.hpp"

namespace anysock {

struct echo_totals {
  std::size_t messages = 0;
  std::size_t bytes = 0;
};

// Bytes a stream client keeps sent but not yet echoed. Some links stall for
// good when both directions are full at once (RFCOMM over BlueZ's virtual
// controllers does); 16 KiB in flight was as fast as unbounded there.
inline constexpr std::size_t default_echo_window = 16 * 1024;

// Sends every message and verifies its echo byte for byte, in order. Writing
// and reading run concurrently, so a message larger than the socket buffers
// cannot deadlock against the echo; on a stream at most `window` bytes are
// in flight (0: no bound). `timeout` bounds the time without any progress.
// `on_echo(i, bytes)` is called as each echo completes.
// For a frame family each echo must also keep the sent frame's flags.
asio::awaitable<result<echo_totals>> check_echo(
    any_link& link, const std::vector<message>& messages, std::chrono::milliseconds timeout,
    std::function<void(std::size_t, const message&)> on_echo = {}, std::size_t window = default_echo_window);

// The same for plain byte messages (header zero), as streams use them.
asio::awaitable<result<echo_totals>> check_echo(
    any_link& link, const std::vector<std::string>& messages, std::chrono::milliseconds timeout,
    std::function<void(std::size_t, std::string_view)> on_echo = {}, std::size_t window = default_echo_window);

// Plain byte messages (header zero): for streams.
std::vector<message> as_messages(const std::vector<std::string>& texts);

// Connects through the registry's transport for the URI, bounded by timeout
// (for a bridge: through the transport's bridge hook where it has one).
class registry;
enum class endpoint_use;
asio::awaitable<result<std::unique_ptr<any_link>>> connect(const registry& reg, std::string_view uri_text,
                                                           std::chrono::milliseconds timeout);
asio::awaitable<result<std::unique_ptr<any_link>>> connect(const registry& reg, std::string_view uri_text,
                                                           std::chrono::milliseconds timeout, endpoint_use use);

}  // namespace anysock
