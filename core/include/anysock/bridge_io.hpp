// The link operations a bridge uses on either side, the same for the
// listener's own link type and for an any_link, and the state of one way
// through it.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <deque>

#include "anysock/any_link.hpp"
#include "anysock/bridge_log.hpp"
#include "anysock/link.hpp"

namespace anysock {

namespace detail {

template <link L>
auto receive_on(L& l, asio::mutable_buffer b, message_header& h) {
  return l.async_receive(b, h, asio::as_tuple(asio::use_awaitable));
}
inline auto receive_on(any_link& l, asio::mutable_buffer b, message_header& h) { return l.receive(b, h); }
template <link L>
auto send_on(L& l, asio::const_buffer b, const message_header& h) {
  return l.async_send(b, h, asio::as_tuple(asio::use_awaitable));
}
inline auto send_on(any_link& l, asio::const_buffer b, const message_header& h) { return l.send(b, h); }
template <link L>
bool is_stream_link(const L&) {
  return L::is_stream;
}
inline bool is_stream_link(const any_link& l) { return l.is_stream(); }
template <link L>
bool reads_ahead_link(const L&) {
  return reads_ahead<L>();
}
inline bool reads_ahead_link(const any_link& l) { return l.reads_ahead(); }

// A message a reads-ahead link already holds (a CAN batch under load): no
// operation, no suspension. False when there is none: then await one.
template <class Source>
bool take_held(Source& l, bool reads_ahead, asio::mutable_buffer b, message_header& h, error_code& ec,
               std::size_t& n) {
  if (!reads_ahead) return false;
  n = l.try_receive(b, h, ec);
  if (ec != asio::error::would_block && ec != asio::error::interrupted) return true;
  h = {};
  return false;
}

// What the destination takes at once (a stream: maybe part); would_block
// is no error here, only nothing sent yet.
template <class Dest>
std::size_t send_now(Dest& dest, asio::const_buffer data, const message_header& h, error_code& ec) {
  std::size_t n = dest.try_send(data, h, ec);
  if (ec == asio::error::would_block) {
    ec = {};
    n = 0;
  }
  return n;
}

// Bytes one read of a stream side takes: a stream going to a message family
// (ISO-TP) is cut into messages of at most what that family can send.
std::size_t stream_read_size(std::size_t destination_max_message);

// One way through the bridge: what crossed, what was dropped, and the
// messages waiting for a slow destination when the source is a bus.
struct bridge_way {
  bridge_way_stats stats;
  std::deque<message> queue;
  bool sending = false;
  drop_log drops;
};

}  // namespace detail

}  // namespace anysock
