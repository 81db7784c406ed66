// The acceptor of a family with no connections (a CAN bus, an ISO-TP ID
// pair): it yields its one link at once, then nothing until it is closed.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>

#include "anysock/link.hpp"

namespace anysock {

template <link L>
class single_link_acceptor {
 public:
  using link_type = L;
  static constexpr bool yields_one_link = true;

  single_link_acceptor(L l, std::string name)
      : executor_(l.get_executor()), link_(std::move(l)), name_(std::move(name)),
        idle_(std::make_unique<asio::steady_timer>(executor_, asio::steady_timer::time_point::max())) {}

  asio::any_io_executor get_executor() const { return executor_; }
  const std::string& name() const { return name_; }

  // Completes with the link the first time; afterwards only when closed,
  // with operation_aborted (and a closed placeholder link).
  template <class Token>
  auto async_accept(Token&& token) {
    return asio::async_initiate<Token, void(error_code, L)>(
        [this](auto handler) {
          if (link_) {
            auto l = std::move(*link_);
            link_.reset();
            asio::post(executor_, [h = std::move(handler), l = std::move(l)]() mutable {
              std::move(h)(error_code{}, std::move(l));
            });
            return;
          }
          idle_->async_wait([this, h = std::move(handler)](error_code) mutable {
            std::move(h)(asio::error::operation_aborted, L::closed(executor_));
          });
        },
        token);
  }
  void close() { idle_->cancel(); }

 private:
  asio::any_io_executor executor_;
  std::optional<L> link_;
  std::string name_;
  std::unique_ptr<asio::steady_timer> idle_;
};

}  // namespace anysock
