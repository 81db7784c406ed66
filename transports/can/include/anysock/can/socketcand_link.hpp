// A remote CAN bus reached through a socketcand server (raw mode) as a frame
// link: one frame is one message, with the roles and ID rules of a local bus
// (frame_role.hpp), so `send`, `serve`, `bench` and `bridge` take
// `socketcand://HOST[:PORT]/BUS` unchanged.
//
// Frames from the server are parsed out of whatever one TCP read returned
// (dozens per read under load) and handed out without a system call each.
// Frames to it are appended as text to one buffer, written once the handler
// that sent them returns (so a burst of sends is one TCP segment) and, while
// a write is in flight, with the next one; a send waits only once
// `max_queued` bytes are waiting.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <memory>
#include <string>

#include "anysock/can/config.hpp"
#include "anysock/can/frame_role.hpp"
#include "anysock/can/socketcand.hpp"
#include "anysock/can/socketcand_uri.hpp"
#include "anysock/link.hpp"
#include "anysock/log.hpp"

namespace anysock::can {

class socketcand_link {
 public:
  using executor_type = asio::any_io_executor;
  using tcp = asio::ip::tcp;
  static constexpr bool is_stream = false;
  static constexpr bool reads_ahead = true;  // link.hpp: try_receive takes parsed frames, no system call
  // Output waiting for the TCP socket beyond which a send waits: about 1,500
  // frames, several times what one write takes.
  static constexpr std::size_t max_queued = 64 * 1024;

  // `s` has completed the handshake (`< ok >` to `< rawmode >`); `already`
  // holds what was read past it.
  socketcand_link(tcp::socket s, socketcand::framer already, std::shared_ptr<const raw_config> c, link_role r,
                  std::string peer);
  static socketcand_link closed(const asio::any_io_executor& ex);
  // The same link on another executor (an io_context not yet running when
  // it was connected); only before any operation started.
  socketcand_link moved_to(const asio::any_io_executor& ex) &&;

  executor_type get_executor() { return state_->socket.get_executor(); }
  std::size_t receive_size() const { return CANFD_MAX_DLEN; }
  std::string peer() const { return state_->peer; }
  void close();

  template <class Token>
  auto async_receive(asio::mutable_buffer b, message_header& h, Token&& token) {
    return asio::async_compose<Token, void(error_code, std::size_t)>(receive_op{state_, b, &h}, token,
                                                                     state_->socket);
  }

  // Completes once the frame's text is queued for the server (or written).
  template <class Token>
  auto async_send(asio::const_buffer b, const message_header& h, Token&& token) {
    error_code ec;
    frame f = state_->frames.outgoing(b, h, ec);
    return asio::async_compose<Token, void(error_code, std::size_t)>(send_op{state_, f, b.size(), ec}, token,
                                                                     state_->socket);
  }

  // A frame already read and parsed, else would_block (without a read: the
  // awaited receive reads).
  std::size_t try_receive(asio::mutable_buffer b, message_header& h, error_code& ec);
  // Queued, and written once the calling handler returns; would_block when
  // max_queued bytes wait.
  std::size_t try_send(asio::const_buffer b, const message_header& h, error_code& ec);

 private:
  // Shared with the operations in flight, so the link can move while they run.
  struct state : std::enable_shared_from_this<state> {
    state(tcp::socket s, socketcand::framer f, std::shared_ptr<const raw_config> c, link_role r, std::string p);
    tcp::socket socket;
    socketcand::framer framer;
    frame_role frames;
    std::string peer;  // "socketcand bus can0 at 127.0.0.1:29536"
    std::string bus;
    std::array<char, 16 * 1024> rx;
    std::string queued, writing;  // text waiting; text being written
    bool write_active = false;
    bool flush_posted = false;  // write_queued is posted
    error_code write_error;  // the writer's failure, for every later send
    asio::steady_timer room;  // cancelled whenever the writer has written: a waiting send looks again
    rate_limited bad_log;  // what the server sent that is not socketcand

    // The next frame to deliver from what was read; would_block when none.
    std::size_t take(asio::mutable_buffer b, message_header& h, error_code& ec);
    // Puts a frame's text in the queue, a write posted if none is; false
    // when max_queued bytes wait already.
    bool queue(const frame& f, error_code& ec);
    void write_queued();
    void start_writing();
  };

  struct receive_op {
    std::shared_ptr<state> s;
    asio::mutable_buffer buffer;
    message_header* header;
    bool reading = false;
    template <class Self>
    void operator()(Self& self, error_code ec = {}, std::size_t n = 0) {
      if (reading) {
        reading = false;
        if (ec) return self.complete(ec, 0);
        s->framer.feed(std::string_view(s->rx.data(), n));
      }
      error_code e;
      const std::size_t got = s->take(buffer, *header, e);
      if (e != asio::error::would_block) return self.complete(e, got);
      reading = true;
      s->socket.async_read_some(asio::buffer(s->rx), std::move(self));
    }
  };

  struct send_op {
    std::shared_ptr<state> s;
    frame f;
    std::size_t size;
    error_code bad;  // from building the frame
    bool posted = false;
    template <class Self>
    void operator()(Self& self, error_code = {}) {
      if (!bad && !posted) {
        if (!s->queue(f, bad) && !bad) {  // full: wait for the writer
          s->room.expires_at(asio::steady_timer::time_point::max());
          return s->room.async_wait(std::move(self));
        }
        posted = true;  // queued: complete from the executor, never inside the initiation
        return asio::post(s->socket.get_executor(), std::move(self));
      }
      self.complete(bad, bad ? 0 : size);
    }
  };

  std::shared_ptr<state> state_;
};

// Connects to the server the URI names and asks for raw mode on its bus, with
// one line for each way that fails (no such host, refused, not socketcand,
// no such bus there) and a bound on the whole handshake.
asio::awaitable<result<socketcand_link>> connect_socketcand(const uri& u, asio::any_io_executor ex, link_role r);
// The same, done before `io` runs (for `serve`, whose endpoints are opened
// before it starts): the link lives on `ex`.
result<socketcand_link> connect_socketcand_now(const uri& u, const asio::any_io_executor& ex, link_role r);

}  // namespace anysock::can
