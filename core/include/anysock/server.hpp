// Serving: listeners accept links, the server runs its service (the echo, a
// bridge, ...) on each and keeps the books a demanding operator needs — a
// limit on open links, an idle timeout, and a bounded drain on shutdown.
#pragma once

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <concepts>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "anysock/link.hpp"
#include "anysock/service.hpp"
#include "anysock/session.hpp"

namespace anysock {

struct server_options {
  std::size_t max_links = 0;                        // 0: no limit
  std::chrono::milliseconds idle_timeout{0};        // 0: never
  std::chrono::milliseconds drain_timeout{5000};    // bound on shutdown
};

class server;

// A bound endpoint that yields links: one per accepted peer for a connection
// family, exactly one for a bus. Type-erased per endpoint, not per message.
class listener {
 public:
  virtual ~listener() = default;
  // The endpoint as actually bound (port 0 replaced by the real port).
  virtual std::string name() const = 0;
  virtual void start(server& srv) = 0;
  virtual void stop() = 0;
};

// What a transport's acceptor provides for basic_listener.
template <class A>
concept acceptor = requires(A& a, const A& ca) {
  typename A::link_type;
  requires link<typename A::link_type>;
  a.async_accept(asio::deferred);  // completes with (error_code, link_type)
  { ca.name() } -> std::convertible_to<std::string>;
  { a.get_executor() };
  a.close();
};

class server {
 public:
  server(asio::io_context& io, server_options opts, link_service service = echo_service{});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  void add(std::unique_ptr<listener> l);
  const std::vector<std::unique_ptr<listener>>& listeners() const { return listeners_; }
  void start();

  // Stop accepting, let links finish the echo they are in, close the rest;
  // after drain_timeout close everything. `done` runs once all links are gone.
  void shutdown(std::function<void()> done = {});
  // What runs once all links are gone after any shutdown, including one the
  // server starts itself (see failure()); shutdown(done) replaces it.
  void when_stopped(std::function<void()> done);
  // Close every link now.
  void abort();

  std::size_t open_links() const;
  bool stopping() const { return stopping_.load(); }
  // Set when an endpoint's only link ended with an error (its interface was
  // removed, say): the server shuts down, as nothing is served there any
  // more. One line for people; empty when the server stopped as asked.
  std::string failure() const;
  // A service's way to say the same (a bridge given --once whose other side
  // is gone): records why, once, and shuts down.
  void fail(std::string why);

  // For listeners: admit a new link, or nullptr when the limit is reached or
  // the server is stopping (the caller closes the link). only_link: see session.
  std::shared_ptr<session> admit(const std::shared_ptr<const std::string>& endpoint, std::string peer,
                                 asio::any_io_executor link_executor, bool only_link = false);
  void finished(const std::shared_ptr<session>& s, const error_code& why);

  // Runs the service on a link; the link and session are released when it ends.
  template <link L>
  void spawn(L l, std::shared_ptr<session> s) {
    session& ref = *s;
    start_service(service_, std::move(l), ref, [this, s = std::move(s)](error_code why) { finished(s, why); });
  }

 private:
  asio::awaitable<void> sweep_idle();
  void close_session(const std::shared_ptr<session>& s, bool only_if_idle);
  void all_gone();

  asio::io_context& io_;
  server_options opts_;
  link_service service_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer sweep_timer_;
  asio::steady_timer drain_timer_;
  std::vector<std::unique_ptr<listener>> listeners_;
  mutable std::mutex mutex_;
  std::unordered_set<std::shared_ptr<session>> sessions_;
  std::atomic<bool> stopping_{false};
  std::function<void()> done_;
  std::string failure_;  // guarded by mutex_
};

// Runs the accept loop of any acceptor, handing each link to the server.
template <acceptor A>
class basic_listener final : public listener {
 public:
  explicit basic_listener(A a) : acceptor_(std::move(a)) {}
  std::string name() const override { return acceptor_.name(); }
  void start(server& srv) override {
    asio::co_spawn(acceptor_.get_executor(), accept_loop(srv), asio::detached);
  }
  // Closing runs on the acceptor's executor (a strand): the acceptor is not
  // safe to touch from the thread that asked for the stop.
  void stop() override {
    asio::post(acceptor_.get_executor(), [this] { acceptor_.close(); });
  }
  A& get() { return acceptor_; }

 private:
  asio::awaitable<void> accept_loop(server& srv) {
    // Shared by every session of this listener rather than copied into each.
    const auto endpoint = std::make_shared<const std::string>(acceptor_.name());
    for (;;) {
      auto [ec, l] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (srv.stopping() || ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // Out of descriptors or memory: say so and back off instead of spinning.
        spdlog::warn("{}: accept failed: {}; retrying in 100 ms", *endpoint, ec.message());
        asio::steady_timer t(acceptor_.get_executor(), std::chrono::milliseconds(100));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      auto s = srv.admit(endpoint, l.peer(), l.get_executor(), one_link);
      if (!s) {
        l.close();
        continue;
      }
      srv.spawn(std::move(l), std::move(s));
    }
  }

  // An acceptor of a family with no connections yields one link, ever.
  static constexpr bool one_link = requires { requires A::yields_one_link; };
  A acceptor_;
};

}  // namespace anysock
