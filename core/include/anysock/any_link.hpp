// A type-erased link for the edges: the CLI client, a bridge's far side, and
// anything that picks a transport at run time per link rather than per
// message loop. Each call costs a virtual call and a type-erased handler;
// the echo service does not use it.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>
#include <memory>
#include <tuple>
#include <utility>

#include "anysock/link.hpp"

namespace anysock {

class any_link {
 public:
  virtual ~any_link() = default;
  virtual bool is_stream() const = 0;
  virtual bool reads_ahead() const = 0;  // link.hpp's reads_ahead
  virtual std::size_t receive_size() const = 0;
  // Asio-style initiating functions, as the link concept has them: the
  // handler is type-erased (asio::any_completion_handler, allocated through
  // Asio's recycling allocator), so a message costs a virtual call and no
  // coroutine frame of its own.
  template <class Token>
  auto async_receive(asio::mutable_buffer b, message_header& h, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this, b, &h](auto handler) { receive_erased(b, h, std::move(handler)); }, token);
  }
  template <class Token>
  auto async_send(asio::const_buffer b, const message_header& h, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this, b, &h](auto handler) { send_erased(b, h, std::move(handler)); }, token);
  }
  // The same for coroutines: co_await link.receive(b, h).
  asio::awaitable<std::tuple<error_code, std::size_t>> receive(asio::mutable_buffer b, message_header& h) {
    return async_receive(b, h, asio::as_tuple(asio::use_awaitable));
  }
  asio::awaitable<std::tuple<error_code, std::size_t>> send(asio::const_buffer b, const message_header& h) {
    return async_send(b, h, asio::as_tuple(asio::use_awaitable));
  }
  // The link's non-blocking send (see link.hpp): no coroutine frame.
  virtual std::size_t try_send(asio::const_buffer b, const message_header& h, error_code& ec) = 0;
  virtual std::size_t try_receive(asio::mutable_buffer b, message_header& h, error_code& ec) = 0;
  // Shuts down the write side where the family has half-close (link.hpp's
  // half_closable); false, doing nothing, where it has not.
  virtual bool shutdown_send() = 0;
  virtual std::string peer() const = 0;
  virtual void close() = 0;
  virtual asio::any_io_executor get_executor() = 0;

 protected:
  using erased_handler = asio::any_completion_handler<void(error_code, std::size_t)>;
  virtual void receive_erased(asio::mutable_buffer b, message_header& h, erased_handler handler) = 0;
  virtual void send_erased(asio::const_buffer b, const message_header& h, erased_handler handler) = 0;
};

template <link L>
class link_holder final : public any_link {
 public:
  explicit link_holder(L l) : link_(std::move(l)) {}
  bool is_stream() const override { return L::is_stream; }
  bool reads_ahead() const override { return anysock::reads_ahead<L>(); }
  std::size_t receive_size() const override { return link_.receive_size(); }
  std::size_t try_send(asio::const_buffer b, const message_header& h, error_code& ec) override {
    return link_.try_send(b, h, ec);
  }
  std::size_t try_receive(asio::mutable_buffer b, message_header& h, error_code& ec) override {
    return link_.try_receive(b, h, ec);
  }
  bool shutdown_send() override {
    if constexpr (half_closable<L>) {
      error_code ignored;
      link_.shutdown_send(ignored);
      return true;
    } else {
      return false;
    }
  }
  std::string peer() const override { return link_.peer(); }
  void close() override { link_.close(); }
  asio::any_io_executor get_executor() override { return link_.get_executor(); }
  L& get() { return link_; }

 protected:
  void receive_erased(asio::mutable_buffer b, message_header& h, erased_handler handler) override {
    link_.async_receive(b, h, std::move(handler));
  }
  void send_erased(asio::const_buffer b, const message_header& h, erased_handler handler) override {
    link_.async_send(b, h, std::move(handler));
  }

 private:
  L link_;
};

template <link L>
std::unique_ptr<any_link> make_any_link(L l) {
  return std::make_unique<link_holder<L>>(std::move(l));
}

}  // namespace anysock
