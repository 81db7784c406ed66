#include "anysock/server.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace anysock {

server::server(asio::io_context& io, server_options opts, link_service service)
    : io_(io), opts_(opts), service_(std::move(service)), strand_(asio::make_strand(io)), sweep_timer_(strand_),
      drain_timer_(strand_) {}

server::~server() = default;

void server::add(std::unique_ptr<listener> l) { listeners_.push_back(std::move(l)); }

void server::start() {
  for (auto& l : listeners_) l->start(*this);
  if (opts_.idle_timeout.count() > 0) asio::co_spawn(strand_, sweep_idle(), asio::detached);
}

std::size_t server::open_links() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::shared_ptr<session> server::admit(const std::shared_ptr<const std::string>& endpoint, std::string peer,
                                       asio::any_io_executor link_executor, bool only_link) {
  std::size_t open = 0;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return nullptr;
    if (opts_.max_links != 0 && sessions_.size() >= opts_.max_links) {
      spdlog::warn("{}: refusing {}: {} links open, the server's max_links", *endpoint, peer,
                   sessions_.size());
      return nullptr;
    }
    auto s = std::make_shared<session>(endpoint, std::move(peer), std::move(link_executor),
                                       opts_.idle_timeout.count() > 0, only_link);
    sessions_.insert(s);
    open = sessions_.size();
    spdlog::info("{}: link from {} ({} open)", *endpoint, s->peer(), open);
    return s;
  }
}

void server::finished(const std::shared_ptr<session>& s, const error_code& why) {
  std::size_t left = 0;
  {
    std::lock_guard lock(mutex_);
    sessions_.erase(s);
    left = sessions_.size();
  }
  std::string how;
  if (why == asio::error::eof)
    how = "closed by peer";
  else if (why == asio::error::operation_aborted)
    how = stopping_ ? "closed for shutdown" : "closed";
  else if (why == asio::error::connection_reset)
    how = "reset by peer";
  else
    how = "closed: " + why.message();
  spdlog::info("{}: link from {} {} after {} messages, {} bytes ({} open)", s->endpoint(), s->peer(),
               how, s->messages(), s->bytes_in(), left);
  if (s->only_link() && !stopping_ && why != asio::error::operation_aborted) {
    // Nothing will be served on this endpoint again: stop rather than run on
    // looking healthy (a supervisor restarts a failed service).
    {
      std::lock_guard lock(mutex_);
      if (failure_.empty())
        failure_ = fmt::format("{}: its link to {} ended ({}); nothing is served there any more", s->endpoint(),
                               s->peer(), why.message());
    }
    spdlog::error("{}: link to {} ended: {}; shutting down", s->endpoint(), s->peer(), why.message());
    shutdown();
  }
  if (left == 0 && stopping_) asio::post(strand_, [this] { all_gone(); });
}

void server::when_stopped(std::function<void()> done) {
  asio::post(strand_, [this, done = std::move(done)]() mutable { done_ = std::move(done); });
}

std::string server::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

void server::fail(std::string why) {
  {
    std::lock_guard lock(mutex_);
    if (failure_.empty()) failure_ = std::move(why);
  }
  shutdown();
}

void server::close_session(const std::shared_ptr<session>& s, bool only_if_idle) {
  // Runs the close on the link's own executor, where close_link is valid.
  asio::post(s->executor(), [s, only_if_idle] {
    if (only_if_idle && s->busy()) return;  // it leaves by itself after this echo
    if (s->close_link) s->close_link();
  });
}

asio::awaitable<void> server::sweep_idle() {
  const auto period = std::min<std::chrono::milliseconds>(
      std::chrono::seconds(1), std::max<std::chrono::milliseconds>(opts_.idle_timeout / 4, std::chrono::milliseconds(10)));
  while (!stopping_) {
    sweep_timer_.expires_after(period);
    auto [ec] = co_await sweep_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || stopping_) co_return;
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<session>> idle;
    {
      std::lock_guard lock(mutex_);
      for (auto& s : sessions_)
        if (s->tracks_activity() && now - s->last_activity() > opts_.idle_timeout) idle.push_back(s);
    }
    for (auto& s : idle) {
      spdlog::info("{}: closing link from {}: idle for more than {} ms", s->endpoint(), s->peer(),
                   opts_.idle_timeout.count());
      close_session(s, false);
    }
  }
}

void server::shutdown(std::function<void()> done) {
  asio::post(strand_, [this, done = std::move(done)]() mutable {
    if (stopping_) {
      if (done) done_ = std::move(done);
      return;
    }
    if (done) done_ = std::move(done);
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    sweep_timer_.cancel();
    for (auto& l : listeners_) l->stop();
    std::vector<std::shared_ptr<session>> open;
    {
      std::lock_guard lock(mutex_);
      open.assign(sessions_.begin(), sessions_.end());
    }
    spdlog::info("shutting down: stopped accepting; draining {} links (at most {} ms)", open.size(),
                 opts_.drain_timeout.count());
    if (open.empty()) return all_gone();
    for (auto& s : open) {
      s->start_draining();
      close_session(s, true);
    }
    drain_timer_.expires_after(opts_.drain_timeout);
    drain_timer_.async_wait([this](error_code ec) {
      if (ec) return;  // everything left in time
      auto n = open_links();
      if (n) spdlog::warn("drain time is up: closing {} links still echoing", n);
      abort();
    });
  });
}

void server::abort() {
  std::vector<std::shared_ptr<session>> open;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    open.assign(sessions_.begin(), sessions_.end());
  }
  for (auto& l : listeners_) l->stop();
  for (auto& s : open) close_session(s, false);
}

void server::all_gone() {
  drain_timer_.cancel();
  sweep_timer_.cancel();
  if (auto d = std::move(done_)) {
    done_ = nullptr;
    d();
  }
}

}  // namespace anysock
