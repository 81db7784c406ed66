// A type-erased link for the edges: the CLI client and anything that picks a
// transport at run time per link rather than per message loop. Each call
// costs a virtual call and a coroutine frame; the echo service does not use it.
#pragma once

#include <boost/asio/as_tuple.hpp>
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
  virtual std::size_t receive_size() const = 0;
  virtual asio::awaitable<std::tuple<error_code, std::size_t>> receive(asio::mutable_buffer b,
                                                                        message_header& h) = 0;
  virtual asio::awaitable<std::tuple<error_code, std::size_t>> send(asio::const_buffer b,
                                                                     const message_header& h) = 0;
  // The link's non-blocking send (see link.hpp): no coroutine frame.
  virtual std::size_t try_send(asio::const_buffer b, const message_header& h, error_code& ec) = 0;
  virtual std::size_t try_receive(asio::mutable_buffer b, message_header& h, error_code& ec) = 0;
  // Shuts down the write side where the family has half-close (link.hpp's
  // half_closable); false, doing nothing, where it has not.
  virtual bool shutdown_send() = 0;
  virtual std::string peer() const = 0;
  virtual void close() = 0;
  virtual asio::any_io_executor get_executor() = 0;
};

template <link L>
class link_holder final : public any_link {
 public:
  explicit link_holder(L l) : link_(std::move(l)) {}
  bool is_stream() const override { return L::is_stream; }
  std::size_t receive_size() const override { return link_.receive_size(); }
  asio::awaitable<std::tuple<error_code, std::size_t>> receive(asio::mutable_buffer b,
                                                                message_header& h) override {
    co_return co_await link_.async_receive(b, h, asio::as_tuple(asio::deferred));
  }
  asio::awaitable<std::tuple<error_code, std::size_t>> send(asio::const_buffer b,
                                                             const message_header& h) override {
    co_return co_await link_.async_send(b, h, asio::as_tuple(asio::deferred));
  }
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

 private:
  L link_;
};

template <link L>
std::unique_ptr<any_link> make_any_link(L l) {
  return std::make_unique<link_holder<L>>(std::move(l));
}

}  // namespace anysock
