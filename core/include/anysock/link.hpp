// What a link is: the one idea every transport reduces to. A link receives
// one message and sends one message; for a stream family a "message" is
// whatever bytes one read returned, for a frame family it is one frame.
//
// The interface is an Asio-style set of initiating functions checked by a
// concept, not virtual functions: the echo (and later bridges) are templates
// instantiated per transport, so a message costs no virtual call and no
// coroutine frame. Type erasure (any_link) is kept for the edges.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/system/error_code.hpp>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>

namespace anysock {

namespace asio = boost::asio;
using boost::system::error_code;

// The little metadata some families carry beside the bytes. Streams leave it
// zero. For CAN it is the frame's ID and flags; a link obtained from a
// listener treats the header passed to send as the request being answered
// (so it can map a request ID to its reply ID).
struct message_header {
  std::uint32_t id = 0;
  std::uint32_t flags = 0;
};

// A whole message with its header, for the edges (client, CLI); the echo
// itself never copies into one.
struct message {
  message_header header;
  std::string bytes;
};

template <class L>
concept link = requires(L& l, const L& cl, asio::mutable_buffer mb, asio::const_buffer cb,
                        message_header& h, const message_header& ch, error_code& ec) {
  typename L::executor_type;
  { L::is_stream } -> std::convertible_to<bool>;
  { l.get_executor() } -> std::convertible_to<typename L::executor_type>;
  // Bytes a receive buffer needs to hold one whole message (streams: a good
  // size to drain with; any size works).
  { cl.receive_size() } -> std::convertible_to<std::size_t>;
  // Completes with (error_code, bytes): one message, or what one read gave.
  l.async_receive(mb, h, asio::deferred);
  // Completes with (error_code, bytes) once the whole message is sent.
  l.async_send(cb, ch, asio::deferred);
  // Non-blocking forms: would_block when nothing can be done now,
  // interrupted when more may be queued but the link read past many
  // messages it does not deliver (let others run, then call again; not
  // asio's try_again, which is EAGAIN on Linux: the same as would_block). A stream may send part
  // of the buffer; a frame family sends all or nothing.
  { l.try_receive(mb, h, ec) } -> std::same_as<std::size_t>;
  { l.try_send(cb, ch, ec) } -> std::same_as<std::size_t>;
  { cl.peer() } -> std::convertible_to<std::string>;
  l.close();
};

// Optional: a family with half-close (TCP) can shut down its write side, so
// the peer reads what was sent and then sees its end while the other
// direction goes on. RFCOMM leaves it out: shutting down one direction there
// tears the whole channel down.
template <class L>
concept half_closable = requires(L& l, error_code& ec) { l.shutdown_send(ec); };

// A link whose try_receive hands out messages it has already read (a CAN
// link's recvmmsg batch) and says would_block without a system call when
// it knows the socket is empty: a loop that takes messages one by one may
// try it first, and only wait when it says so. For other links a try that
// finds nothing is one more system call per message.
template <class L>
constexpr bool reads_ahead() {
  if constexpr (requires { L::reads_ahead; })
    return L::reads_ahead;
  else
    return false;
}

}  // namespace anysock
