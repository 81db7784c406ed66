// A CAN bus on an MQTT broker as a frame link (mqtt://HOST/PREFIX/BUS): one
// frame is one MQTT message, with the roles and ID rules of a local bus
// (frame_role.hpp), so `send`, `serve`, `bench` and `bridge` take it as they
// take can://. With kind=messages it carries header-less messages instead
// (ISO-TP's, a stream's chunks) up to 4095 bytes.
#pragma once

#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <string>

#include "anysock/can/frame_role.hpp"
#include "anysock/can/mqtt_client.hpp"
#include "anysock/link.hpp"

namespace anysock::can {

class mqtt_link {
 public:
  using executor_type = asio::any_io_executor;
  static constexpr bool is_stream = false;
  static constexpr bool reads_ahead = true;  // link.hpp: try_receive takes decoded payloads, no system call

  mqtt_link(std::shared_ptr<mqtt::client> c, link_role r);
  static mqtt_link closed(const asio::any_io_executor& ex);
  // The same link on another executor; only before any operation started.
  mqtt_link moved_to(const asio::any_io_executor& ex) &&;

  executor_type get_executor() { return state_->ex; }
  std::size_t receive_size() const;
  std::string peer() const;
  void close();

  template <class Token>
  auto async_receive(asio::mutable_buffer b, message_header& h, Token&& token) {
    return asio::async_compose<Token, void(error_code, std::size_t)>(receive_op{state_, b, &h}, token, state_->ex);
  }
  // Completes once the payload is written or queued for the broker.
  template <class Token>
  auto async_send(asio::const_buffer b, const message_header& h, Token&& token) {
    error_code ec;
    std::string p = state_->encode(b, h, ec);
    return asio::async_compose<Token, void(error_code, std::size_t)>(send_op{state_, std::move(p), b.size(), ec},
                                                                     token, state_->ex);
  }
  std::size_t try_receive(asio::mutable_buffer b, message_header& h, error_code& ec);
  std::size_t try_send(asio::const_buffer b, const message_header& h, error_code& ec);

 private:
  struct state {
    state(std::shared_ptr<mqtt::client> c, link_role r, asio::any_io_executor e);
    std::shared_ptr<mqtt::client> client;  // null for a closed placeholder
    frame_role frames;
    asio::any_io_executor ex;
    bool messages = false;
    bool closed = false;
    // The next payload to deliver; would_block when none, the client's
    // failure or operation_aborted when it cannot go on.
    std::size_t take(asio::mutable_buffer b, message_header& h, error_code& ec);
    std::string encode(asio::const_buffer b, const message_header& h, error_code& ec);
    error_code ended() const;
  };

  struct receive_op {
    std::shared_ptr<state> s;
    asio::mutable_buffer buffer;
    message_header* header;
    template <class Self>
    void operator()(Self& self, error_code = {}) {
      error_code e;
      const std::size_t got = s->take(buffer, *header, e);
      if (e != asio::error::would_block) return self.complete(e, got);
      s->client->arrived.expires_at(asio::steady_timer::time_point::max());
      s->client->arrived.async_wait(std::move(self));
    }
  };

  struct send_op {
    std::shared_ptr<state> s;
    std::string payload;
    std::size_t size;
    error_code bad;
    bool posted = false;
    template <class Self>
    void operator()(Self& self, error_code = {}) {
      if (!bad && !posted) {
        if (auto end = s->ended()) {
          bad = end;
        } else if (!s->client->publish(payload)) {  // full: wait for the socket to drain
          s->client->room.expires_at(asio::steady_timer::time_point::max());
          return s->client->room.async_wait(std::move(self));
        } else {
          posted = true;  // never complete inside the initiation
          return asio::post(s->ex, std::move(self));
        }
      }
      self.complete(bad, bad ? 0 : size);
    }
  };

  explicit mqtt_link(std::shared_ptr<state> s) : state_(std::move(s)) {}
  std::shared_ptr<state> state_;
};

// Connects to the broker the URI names, subscribes to the bus, with one line
// for each way that fails and a bound on the whole.
asio::awaitable<result<mqtt_link>> connect_mqtt(const uri& u, asio::any_io_executor ex, link_role r);
// The same, done before `io` runs (for `serve`): the link lives on `ex`.
result<mqtt_link> connect_mqtt_now(const uri& u, const asio::any_io_executor& ex, link_role r);

}  // namespace anysock::can
